package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.util.Objects.requireNonNull;

/**
 * The reservation quantum ({@code memory.reservation-quantum}, Velox's technique) as a decorator, in the spirit of
 * Trino's {@code CoarseGrainLocalMemoryContext}: it keeps the bytes the host set, and sets the memory it wraps (an
 * {@link ExactLocalMemory}, whose bytes are this context's reservation) only when the bytes leave the reservation.
 * The quantum {@code q(n)} for bytes {@code n} is fixed, or grows with {@code n} ({@link QuantumSizes}). The
 * reservation grows to the bytes rounded up to a multiple of {@code q(n)}, shrinks only once it exceeds the bytes by
 * two quanta {@code q(n)} (to the bytes rounded up, plus one quantum), and drops to zero with them. A change that stays
 * inside the reservation touches nothing above this context and takes no lock. Both the lock-free test
 * ({@link #fits}) and the reservation under the monitor ({@link #targetReservation}) take {@code q} of the new bytes,
 * so a value fits exactly when the monitor would leave the reservation as it is, across the tiers too.
 *
 * <p>Every change of the reservation is made under this context's monitor, and sets the reservation before the bytes.
 * The lock-free path reads the reservation, swaps the bytes in and reads the reservation again: if it changed
 * meanwhile (a close, a kill, another thread's change), the call is redone under the monitor. If the redone call
 * fails, it takes its write back before it throws or returns false, so a call either fully applies or changes nothing,
 * and the bytes never exceed the reservation while no call is in flight: the write is replaced by the value it
 * replaced if that value fits the reservation now (it was another call's, which applied), else by the value the last
 * call under the monitor left (a close or a kill leaves 0). The take-back is a compare-and-set, so a write made after
 * it stays.
 */
final class QuantizedLocalMemory
        implements LocalMemory
{
    private static final VarHandle BYTES;

    static {
        try {
            BYTES = MethodHandles.lookup().findVarHandle(QuantizedLocalMemory.class, "bytes", long.class);
        }
        catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // what the lock-free path returns when it applied the call, or when it did not write (the value does not fit the
    // reservation); any other result is the value its write replaced before it saw the reservation change (never
    // negative: bytes are not)
    static final long APPLIED = -1;
    static final long NOT_WRITTEN = -2;

    private final LocalMemory reservation;
    private final QuantumSizes quanta;
    // written by the lock-free path and under the monitor, read without it
    private volatile long bytes;
    // what the last call under the monitor left in bytes, which fits the reservation it left; guarded by this monitor
    private long committed;
    // set while trimReservation() shrinks the reservation: a lock-free write that sees it is redone under the monitor
    private volatile boolean trimming;

    /**
     * @param reservation the exact memory the reservation is kept in; only this context may change it
     * @param quanta the quantum for each size
     */
    QuantizedLocalMemory(LocalMemory reservation, QuantumSizes quanta)
    {
        this.reservation = requireNonNull(reservation, "reservation is null");
        this.quanta = requireNonNull(quanta, "quanta is null");
    }

    @Override
    public long bytes()
    {
        return bytes;
    }

    @Override
    public long reservedBytes()
    {
        return reservation.bytes();
    }

    @Override
    public MemoryFuture setBytes(long newBytes)
    {
        long replaced = withinReservation(newBytes);
        if (replaced == APPLIED) {
            return MemoryFuture.NOT_BLOCKED;
        }
        return setBytesLocked(newBytes, replaced);
    }

    @Override
    public boolean trySetBytes(long newBytes)
    {
        long replaced = withinReservation(newBytes);
        return replaced == APPLIED || trySetBytesLocked(newBytes, replaced);
    }

    /**
     * The lock-free path: sets the bytes if the value fits the current reservation without changing it.
     *
     * @return {@link #APPLIED}; {@link #NOT_WRITTEN} if the value does not fit (no quantum change inside, zero,
     *         closed or killed); or the value its write replaced, if the reservation changed before the write was
     *         confirmed: the caller must redo the call under the monitor and take the write back if that fails
     */
    private long withinReservation(long newBytes)
    {
        long reserved = reservation.bytes();
        // zero always goes through the monitor, which drops the reservation. Closed and killed need no check of their
        // own: close() and a kill set the reservation to 0 before they return, so a call that starts after them fails
        // this test, and one that overlaps them is ordered before them or redone under the monitor, which refuses it
        if (!fits(newBytes, reserved)) {
            return NOT_WRITTEN;
        }
        return commitWithin(reserved, newBytes);
    }

    /**
     * The second half of the lock-free path, apart so that a test can change the reservation between the halves:
     * swaps the bytes in and tells whether the reservation is still the one the first half read.
     *
     * @return {@link #APPLIED} if it is; else the value the write replaced
     */
    long commitWithin(long reserved, long newBytes)
    {
        // a volatile swap, so that the second read of the reservation cannot be ordered before it
        long replaced = (long) BYTES.getAndSet(this, newBytes);
        return reservation.bytes() == reserved && !trimming ? APPLIED : replaced;
    }

    private boolean fits(long newBytes, long reserved)
    {
        return newBytes > 0 && newBytes <= reserved && reserved - newBytes < 2 * quanta.quantumFor(newBytes);
    }

    /** @param replaced what {@link #withinReservation} returned for this call */
    private synchronized MemoryFuture setBytesLocked(long newBytes, long replaced)
    {
        MemoryFuture future;
        try {
            // a negative value goes down unchanged, for the exact memory's own checks and messages
            future = reservation.setBytes(newBytes < 0 ? newBytes : targetReservation(newBytes));
        }
        catch (RuntimeException | Error e) {
            takeBack(newBytes, replaced);
            throw e;
        }
        commit(newBytes);
        return future;
    }

    private synchronized boolean trySetBytesLocked(long newBytes, long replaced)
    {
        boolean set;
        try {
            set = reservation.trySetBytes(newBytes < 0 ? newBytes : targetReservation(newBytes));
        }
        catch (RuntimeException | Error e) {
            takeBack(newBytes, replaced);
            throw e;
        }
        if (!set) {
            takeBack(newBytes, replaced);
            return false;
        }
        commit(newBytes);
        return true;
    }

    private void commit(long newBytes)
    {
        bytes = newBytes;
        committed = newBytes;
    }

    /**
     * Takes back the lock-free write of a call that failed under the monitor, unless a later write replaced it. Under
     * the monitor the reservation cannot change, and a value that does not fit it can only be a failed call's: every
     * call that fits applies.
     */
    private void takeBack(long newBytes, long replaced)
    {
        if (replaced < 0) {
            // the lock-free path wrote nothing
            return;
        }
        long restored = fits(replaced, reservation.bytes()) ? replaced : committed;
        BYTES.compareAndSet(this, newBytes, restored);
    }

    /** The reservation {@code newBytes} needs, given the current one; under the monitor. */
    private long targetReservation(long newBytes)
    {
        if (newBytes == 0) {
            return 0;
        }
        long current = reservation.bytes();
        long quantum = quanta.quantumFor(newBytes);
        if (newBytes > current) {
            return roundUp(newBytes, quantum);
        }
        if (current - newBytes >= 2 * quantum) {
            // keep one quantum above, so that a context oscillating around a boundary does not churn
            return roundUp(newBytes, quantum) + quantum;
        }
        return current;
    }

    private static long roundUp(long value, long quantum)
    {
        long remainder = value % quantum;
        if (remainder == 0 || value > Long.MAX_VALUE - quantum) {
            // a value this large fails every limit anyway; it is reserved as asked
            return value;
        }
        return value + quantum - remainder;
    }

    /**
     * Shrinks the reservation to the bytes, giving back all of the slack (Velox's reclaim of unused capacity); the next
     * growth goes through the monitor and rounds up again. While it runs, lock-free writes are redone under
     * the monitor (they see {@code trimming}); a write that did not see it swapped its bytes in before the flag was
     * set, so the bytes read after setting it include it, and the new reservation holds them.
     */
    @Override
    public synchronized long trimReservation()
    {
        trimming = true;
        try {
            long current = bytes;
            long held = reservation.bytes();
            long target = Math.max(0, current);
            if (target >= held) {
                return 0;
            }
            // lowering an exact memory never blocks and never fails a limit
            reservation.setBytes(target);
            return held - target;
        }
        finally {
            trimming = false;
        }
    }

    @Override
    public synchronized long close()
    {
        long released = reservation.close();
        commit(0);
        return released;
    }

    @Override
    public synchronized void forceRelease()
    {
        reservation.forceRelease();
        commit(0);
    }

    @Override
    public String toString()
    {
        return reservation + " (bytes " + bytes + ", quantum " + quanta + ")";
    }
}
