package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;

import static java.util.Objects.requireNonNull;

/**
 * The reservation quantum ({@code memory.reservation-quantum}, Velox's technique) as a decorator, in the spirit of
 * Trino's {@code CoarseGrainLocalMemoryContext}: it keeps the bytes the host set, and sets the memory it wraps (an
 * {@link ExactLocalMemory}, whose bytes are this context's reservation) only when the bytes leave the reservation.
 * The reservation grows to the bytes rounded up to a multiple of the quantum {@code q}, shrinks only once it exceeds
 * the bytes by two quanta (to one quantum above them), and drops to zero with them. A change that stays inside the
 * reservation touches nothing above this context and takes no lock.
 *
 * <p>Every change of the reservation is made under this context's monitor, and sets the reservation before the bytes.
 * The lock-free path reads the reservation, writes the bytes and reads the reservation again: if it changed meanwhile
 * (a close, a kill, another thread's change), the call is redone under the monitor, so the bytes never exceed the
 * reservation while no call is in flight.
 */
final class QuantizedLocalMemory
        implements LocalMemory
{
    private final LocalMemory reservation;
    private final long quantum;
    // written by the lock-free path and under the monitor, read without it
    private volatile long bytes;

    /**
     * @param reservation the exact memory the reservation is kept in; only this context may change it
     * @param quantum positive
     */
    QuantizedLocalMemory(LocalMemory reservation, long quantum)
    {
        this.reservation = requireNonNull(reservation, "reservation is null");
        if (quantum <= 0) {
            throw new IllegalArgumentException("quantum is not positive: " + quantum);
        }
        this.quantum = quantum;
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
        if (withinReservation(newBytes)) {
            return MemoryFuture.NOT_BLOCKED;
        }
        return setBytesLocked(newBytes);
    }

    @Override
    public boolean trySetBytes(long newBytes)
    {
        if (withinReservation(newBytes)) {
            return true;
        }
        return trySetBytesLocked(newBytes);
    }

    /**
     * The lock-free path: sets the bytes if the value fits the current reservation without changing it.
     *
     * @return false if the caller must take the monitor (outside the reservation, closed, or a race)
     */
    private boolean withinReservation(long newBytes)
    {
        long reserved = reservation.bytes();
        // zero always goes through the monitor, which drops the reservation. Closed and killed need no check of their
        // own: close() and a kill set the reservation to 0 before they return, so a call that starts after them fails
        // this test, and one that overlaps them is ordered before them
        if (!fits(newBytes, reserved)) {
            return false;
        }
        return commitWithin(reserved, newBytes);
    }

    /**
     * The second half of the lock-free path, apart so that a test can change the reservation between the halves:
     * writes the bytes and tells whether the reservation is still the one the first half read.
     */
    boolean commitWithin(long reserved, long newBytes)
    {
        // a volatile write, so that the second read of the reservation cannot be ordered before it
        bytes = newBytes;
        return reservation.bytes() == reserved;
    }

    private boolean fits(long newBytes, long reserved)
    {
        return newBytes > 0 && newBytes <= reserved && reserved - newBytes < 2 * quantum;
    }

    private synchronized MemoryFuture setBytesLocked(long newBytes)
    {
        // a negative value goes down unchanged, for the exact memory's own checks and messages
        MemoryFuture future = reservation.setBytes(newBytes < 0 ? newBytes : targetReservation(newBytes));
        bytes = newBytes;
        return future;
    }

    private synchronized boolean trySetBytesLocked(long newBytes)
    {
        if (!reservation.trySetBytes(newBytes < 0 ? newBytes : targetReservation(newBytes))) {
            return false;
        }
        bytes = newBytes;
        return true;
    }

    /** The reservation {@code newBytes} needs, given the current one; under the monitor. */
    private long targetReservation(long newBytes)
    {
        if (newBytes == 0) {
            return 0;
        }
        long current = reservation.bytes();
        if (newBytes > current) {
            return roundUp(newBytes);
        }
        if (current - newBytes >= 2 * quantum) {
            // keep one quantum above, so that a context oscillating around a boundary does not churn
            return roundUp(newBytes) + quantum;
        }
        return current;
    }

    private long roundUp(long value)
    {
        long remainder = value % quantum;
        if (remainder == 0 || value > Long.MAX_VALUE - quantum) {
            // a value this large fails every limit anyway; it is reserved as asked
            return value;
        }
        return value + quantum - remainder;
    }

    @Override
    public synchronized long close()
    {
        long released = reservation.close();
        bytes = 0;
        return released;
    }

    @Override
    public synchronized void forceRelease()
    {
        reservation.forceRelease();
        bytes = 0;
    }

    @Override
    public String toString()
    {
        return reservation + " (bytes " + bytes + ", quantum " + quantum + ")";
    }
}
