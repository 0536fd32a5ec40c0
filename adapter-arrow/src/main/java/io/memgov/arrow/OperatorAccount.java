package io.memgov.arrow;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryKilledException;
import org.apache.arrow.memory.AllocationListener;
import org.apache.arrow.memory.AllocationOutcome;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;
import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.NANOSECONDS;

/**
 * The Arrow bytes one operator holds in one memgov memory context (its user or revocable memory, or later a
 * direct-memory context), and the {@link AllocationListener} of every allocator that reserves there.
 *
 * <p>The context is set to what Arrow's own counters say, never to a running sum of the sizes the listener is told:
 * {@code bytes = sum of getAllocatedMemory() over the account's allocators + bytes in flight}, where an allocation is
 * in flight from its {@code onPreAllocation} until Arrow has counted it (its {@code onAllocation}) or given up (its
 * {@code onFailedAllocation}). Arrow moves bytes between allocators without calling any listener (transfers, an
 * owner releasing memory another allocator retains, {@code AllocationReservation}, a child's initial reservation);
 * re-reading the counters at every callback picks those up at the account's next callback, and
 * {@link #reconcile()} does it on demand.
 *
 * <p>No lock of its own on the allocation path: the context's {@code setBytes} is atomic, and every write is followed
 * by a second reading of the counters, repeated until the value written is still the truth after it was written
 * ({@link #carry}). Two threads racing may each write; the later writer's second reading corrects a stale value, and
 * every change of the truth is followed by a callback that reads it, so once no callback is running the context holds
 * the truth. Waiting for a full pool holds no lock, so that the operator's other threads can still release.
 */
final class OperatorAccount
        implements AllocationListener
{
    private static final Logger log = LoggerFactory.getLogger(ArrowOperatorMemory.class);

    // the allocation this thread has in flight: at most one, since Arrow calls no listener between an allocation's
    // onPreAllocation and its end, and the listener allocates nothing
    private static final ThreadLocal<InFlight> IN_FLIGHT = ThreadLocal.withInitial(InFlight::new);
    private static final BufferAllocator[] NO_ALLOCATORS = new BufferAllocator[0];
    private static final VarHandle IN_FLIGHT_BYTES;
    // how often a waiting allocation looks for a revoke request of its operator
    private static final long REVOKE_CHECK_NANOS = MILLISECONDS.toNanos(10);

    static {
        try {
            IN_FLIGHT_BYTES = MethodHandles.lookup().findVarHandle(OperatorAccount.class, "inFlightBytes", long.class);
        }
        catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ArrowOperatorMemory operator;
    private final LocalMemoryContext memory;
    private final String kind;
    private final long maxWaitNanos;

    // guards changes of allocators and closed
    private final Object lock = new Object();
    // copy on write under lock, read without it
    private volatile BufferAllocator[] allocators = NO_ALLOCATORS;
    // the allocations in flight on every thread; changed through IN_FLIGHT_BYTES
    @SuppressWarnings("FieldMayBeFinal")
    private volatile long inFlightBytes;
    // written under lock
    private volatile boolean closed;

    OperatorAccount(ArrowOperatorMemory operator, LocalMemoryContext memory, String kind, long maxWaitNanos)
    {
        this.operator = requireNonNull(operator, "operator is null");
        this.memory = requireNonNull(memory, "memory is null");
        this.kind = requireNonNull(kind, "kind is null");
        this.maxWaitNanos = maxWaitNanos;
    }

    LocalMemoryContext memory()
    {
        return memory;
    }

    String kind()
    {
        return kind;
    }

    ArrowOperatorMemory operator()
    {
        return operator;
    }

    void addAllocator(BufferAllocator allocator)
    {
        synchronized (lock) {
            BufferAllocator[] current = allocators;
            BufferAllocator[] grown = Arrays.copyOf(current, current.length + 1);
            grown[current.length] = allocator;
            allocators = grown;
        }
    }

    /** An allocator of this account closed cleanly (the root's listener saw it go). */
    void removeAllocator(BufferAllocator allocator)
    {
        synchronized (lock) {
            BufferAllocator[] current = allocators;
            for (int i = 0; i < current.length; i++) {
                if (current[i] == allocator) {
                    BufferAllocator[] shrunk = new BufferAllocator[current.length - 1];
                    System.arraycopy(current, 0, shrunk, 0, i);
                    System.arraycopy(current, i + 1, shrunk, i, current.length - i - 1);
                    allocators = shrunk;
                    break;
                }
            }
        }
        settle();
    }

    /** What Arrow's counters say the account's allocators hold now, children included. */
    long allocatedBytes()
    {
        long total = 0;
        for (BufferAllocator allocator : allocators) {
            total += allocator.getAllocatedMemory();
        }
        return total;
    }

    List<BufferAllocator> allocators()
    {
        return List.of(allocators);
    }

    // ---------------------------------------------------------------- Arrow's callbacks

    /**
     * Reserves {@code size} more bytes before Arrow counts them. A full pool makes the call wait up to the configured
     * time for the context's future; a limit, a kill or a closed operator fail the allocation with memgov's exception,
     * and a pool still full after the wait with Arrow's {@link OutOfMemoryException}. A refused allocation changes
     * nothing.
     */
    @Override
    public void onPreAllocation(long size)
    {
        InFlight inFlight = IN_FLIGHT.get();
        inFlight.abandon();
        checkOpen();
        IN_FLIGHT_BYTES.getAndAdd(this, size);
        MemoryFuture future;
        try {
            future = carry(false);
        }
        catch (RuntimeException e) {
            // a limit, a kill or a closed context: the write changed nothing, but another thread may have carried
            // these bytes meanwhile
            IN_FLIGHT_BYTES.getAndAdd(this, -size);
            settle();
            throw e;
        }
        inFlight.start(this, size);
        if (!future.isDone()) {
            awaitMemory(future, size, inFlight);
        }
    }

    @Override
    public void onAllocation(long size)
    {
        // also the end of an AllocationReservation's allocateBuffer(), which had no onPreAllocation: nothing in flight
        if (IN_FLIGHT.get().finish(this, size)) {
            IN_FLIGHT_BYTES.getAndAdd(this, -size);
        }
        settle();
    }

    /**
     * Arrow's own accounting refused (this allocator's or the root's limit): the reservation made for it is withdrawn
     * and Arrow throws its {@link OutOfMemoryException}. Never asks for a retry: memgov's refusals are handled before
     * Arrow counts ({@link #onPreAllocation}), and a retry that failed again would end with no callback.
     */
    @Override
    public boolean onFailedAllocation(long size, AllocationOutcome outcome)
    {
        if (IN_FLIGHT.get().finish(this, size)) {
            IN_FLIGHT_BYTES.getAndAdd(this, -size);
        }
        settle();
        return false;
    }

    // called on the allocator that owns the memory when it is freed, after Arrow's counter dropped
    @Override
    public void onRelease(long size)
    {
        settle();
    }

    // a child of one of the account's allocators: its initial reservation came out of ours without a callback
    @Override
    public void onChildAdded(BufferAllocator parentAllocator, BufferAllocator childAllocator)
    {
        settle();
    }

    @Override
    public void onChildRemoved(BufferAllocator parentAllocator, BufferAllocator childAllocator)
    {
        settle();
    }

    // ---------------------------------------------------------------- the host's calls

    /**
     * Sets the context to what Arrow's counters say now.
     *
     * @return the context's future: not done if the pool is full (the bytes are recorded either way)
     * @throws io.memgov.spi.query.MemoryLimitExceededException if the bytes Arrow moved here pass a limit; nothing
     *         changed
     */
    MemoryFuture reconcile()
    {
        // the host calls this outside Arrow's calls, so an allocation this thread still has in flight is a stale one
        IN_FLIGHT.get().abandon();
        if (closed) {
            return MemoryFuture.NOT_BLOCKED;
        }
        return carry(false);
    }

    /**
     * Closes every allocator of the account; from now on it reserves nothing. Idempotent.
     *
     * @return the allocators that still held memory (or, in Arrow's debug mode, children or reservations)
     */
    List<AllocatorLeak> close()
    {
        BufferAllocator[] toClose;
        synchronized (lock) {
            if (closed) {
                return List.of();
            }
            closed = true;
            toClose = allocators;
        }
        List<AllocatorLeak> leaks = new ArrayList<>();
        for (BufferAllocator allocator : toClose) {
            long outstanding = allocator.getAllocatedMemory();
            // read before close(): afterwards Arrow no longer lists what the allocator holds
            String arrowState = outstanding > 0 ? allocator.toVerboseString() : null;
            try {
                allocator.close();
            }
            catch (IllegalStateException e) {
                // Arrow's own leak report ("Memory was leaked by query", or debug mode's outstanding buffers): the
                // allocator is closed nevertheless, and what it holds stays counted by the root
                leaks.add(new AllocatorLeak(operator.nodeId(), operator.operator().task().taskId(), operator.operator().tag(), allocator.getName(), kind,
                        outstanding, arrowState == null ? e.getMessage() : arrowState));
            }
        }
        synchronized (lock) {
            allocators = NO_ALLOCATORS;
        }
        IN_FLIGHT_BYTES.setVolatile(this, 0L);
        return leaks;
    }

    // ---------------------------------------------------------------- internals

    private long targetBytes()
    {
        return allocatedBytes() + inFlightBytes;
    }

    /**
     * Sets the context to the truth (Arrow's counters plus what is in flight) unless it already holds it, and again as
     * long as the truth moved while it was being set. With {@code force}, writes at least once, which checks that the
     * query was not killed nor the operator closed.
     *
     * @return a future that is not done if a write found the pool full
     */
    private MemoryFuture carry(boolean force)
    {
        MemoryFuture blocked = MemoryFuture.NOT_BLOCKED;
        boolean write = force;
        while (true) {
            long target = targetBytes();
            if (write || target != memory.bytes()) {
                MemoryFuture future = memory.setBytes(target);
                if (!future.isDone()) {
                    blocked = future;
                }
            }
            if (targetBytes() == target) {
                return blocked;
            }
            write = false;
        }
    }

    /**
     * {@link #carry} from a callback that must not throw (Arrow has already changed its accounting, and a throw would
     * leave its ledgers half updated).
     */
    private void settle()
    {
        if (closed) {
            return;
        }
        try {
            // a future that is not done is not waited for: the bytes are Arrow's already, and recorded either way
            carry(false);
        }
        catch (MemoryLimitExceededException e) {
            // only bytes Arrow moved here without a callback can get this far (a transfer, a reservation): they are
            // not recorded, and the operator's next allocation fails on the same limit
            log.warn("Arrow bytes of operator {} moved in without a callback pass a limit and are not recorded ({} {} memory, Arrow holds {}): {}",
                    operator.describe(), succinct(memory.bytes()), kind, succinct(allocatedBytes()), e.getMessage());
        }
        catch (QueryKilledException | IllegalStateException e) {
            // killed (the engine already released everything) or the context closed: nothing left to record
            log.debug("Not recording {} of Arrow memory for operator {}: {}", succinct(allocatedBytes()), operator.describe(), e.toString());
        }
    }

    private void checkOpen()
    {
        if (closed) {
            throw new IllegalStateException("Arrow memory of operator " + operator.describe() + " is closed");
        }
    }

    private void awaitMemory(MemoryFuture future, long size, InFlight inFlight)
    {
        long start = System.nanoTime();
        String failure;
        boolean revoking = false;
        try {
            if (awaitUnlessRevoking(future, start)) {
                checkOpen();
                // a write of the same bytes: fails if the query was killed or the operator closed meanwhile
                carry(true);
                return;
            }
            failure = "withdrawn: the operator was asked to give memory back while it waited for %s";
            revoking = true;
        }
        catch (TimeoutException e) {
            // the configured wait rather than the measured one, so that the message is the same every time
            failure = "not granted: %s stayed full for " + succinctNanos(maxWaitNanos);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = "not granted: %s was still full when the thread was interrupted after " + succinctNanos(System.nanoTime() - start);
        }
        catch (ExecutionException e) {
            // a MemoryFuture only ever completes normally
            withdraw(size, inFlight);
            throw new IllegalStateException("Memory future failed", e);
        }
        catch (RuntimeException e) {
            // the check found the query killed or the operator closed
            try {
                withdraw(size, inFlight);
            }
            catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        // the pool as it was while the request waited in it
        String message = String.format("Arrow allocation of %s by operator %s (%s memory) ", succinct(size), operator.describe(), kind)
                + String.format(failure, operator.poolDescription(kind));
        withdraw(size, inFlight);
        throw revoking ? new RevocationRequestedException(message) : new OutOfMemoryException(message);
    }

    /**
     * Waits for the pool up to the configured time, in slices, so that a revoke request of the operator ends the wait:
     * the operator can only spill once the allocation returns, and the pool may stay full until it does.
     *
     * @return true when the pool has room, false when the operator was asked to give memory back
     * @throws TimeoutException if the pool stayed full for the configured time
     */
    private boolean awaitUnlessRevoking(MemoryFuture future, long start)
            throws InterruptedException, ExecutionException, TimeoutException
    {
        while (true) {
            if (operator.operator().isMemoryRevokingRequested()) {
                return false;
            }
            long remaining = maxWaitNanos - (System.nanoTime() - start);
            if (remaining <= 0) {
                throw new TimeoutException();
            }
            try {
                future.get(Math.min(remaining, REVOKE_CHECK_NANOS), NANOSECONDS);
                return true;
            }
            catch (TimeoutException e) {
                // the slice ended: check for a revoke request, then wait again
            }
        }
    }

    /** Gives back a reservation the allocation will not use; memgov's reason (a kill, say) wins over the caller's. */
    private void withdraw(long size, InFlight inFlight)
    {
        inFlight.finish(this, size);
        IN_FLIGHT_BYTES.getAndAdd(this, -size);
        if (!closed) {
            carry(false);
        }
    }

    /** This thread's allocation that ended without a callback: its allocation manager threw. */
    private void abandoned(long size)
    {
        IN_FLIGHT_BYTES.getAndAdd(this, -size);
        settle();
    }

    private static String succinctNanos(long nanos)
    {
        return nanos >= 1_000_000_000 ? String.format("%.1fs", nanos / 1e9) : (nanos / 1_000_000) + "ms";
    }

    private static final class InFlight
    {
        private OperatorAccount account;
        private long bytes;

        /**
         * A new allocation starts on this thread while the last one never ended: Arrow's allocation manager threw after
         * Arrow counted the bytes and gave them back (the only path with no callback). Its reservation is withdrawn.
         */
        void abandon()
        {
            OperatorAccount stale = account;
            if (stale != null) {
                account = null;
                stale.abandoned(bytes);
            }
        }

        void start(OperatorAccount account, long bytes)
        {
            this.account = account;
            this.bytes = bytes;
        }

        boolean finish(OperatorAccount account, long bytes)
        {
            if (this.account == account && this.bytes == bytes) {
                this.account = null;
                return true;
            }
            return false;
        }
    }
}
