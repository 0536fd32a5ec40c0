package io.memgov.engine.internal.node;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.spill.RevocableConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.WeakReference;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * The accounting state of one operator: what the engine needs to account, revoke and release, without the handle the
 * host holds ({@link OperatorContext}). Its task holds it strongly and the handle only weakly, so that a handle
 * the host forgets is collected and the {@link ContextCleaner} runs {@link #collected()}.
 *
 * <p>Nothing reachable from here may reach the handle: the consumer is held weakly (the handle holds it strongly), a
 * pending revoke is a {@link PendingRevoke}, not the public {@link Revocation}.
 */
final class OperatorState
{
    // the public class's logger: hosts configure and read the operator's log lines under that name
    private static final Logger log = LoggerFactory.getLogger(OperatorMemoryContext.class);

    // JVM-wide, so unique on every node; it doubles as the registration order strategies break ties with
    private static final AtomicLong NEXT_ID = new AtomicLong();

    final TaskState task;
    final String tag;
    // the task and tag with the pool's cells for them, looked up once for every reservation of this operator
    private final PoolSlot slot;
    final long id = NEXT_ID.incrementAndGet();
    final Local user;
    final Local system;
    final Local revocable;

    // a separate lock from the Locals' monitors: a revoke is started, finished and cancelled without holding them
    private final Object revokeLock = new Object();
    // guarded by revokeLock; weak because the host's consumer usually references the handle
    private WeakReference<RevocableConsumer> consumer;
    private PendingRevoke revocation;
    private boolean closed;
    // written under revokeLock, read without it by operator threads that poll
    private volatile boolean revokingRequested;
    // when the operator last grew the reservation of any of its memory; the scheduler takes the latest grower for the
    // requester
    private volatile long lastGrowthNanos;
    // the host's handle; listings return it while it lives
    private volatile WeakReference<OperatorContext> handle;

    OperatorState(TaskState task, String tag)
    {
        this.task = requireNonNull(task, "task is null");
        this.tag = requireNonNull(tag, "tag is null");
        this.slot = new PoolSlot(task.taskId, tag);
        long quantum = task.query.node().reservationQuantum();
        this.user = new Local(MemoryKind.USER, quantum);
        this.system = new Local(MemoryKind.SYSTEM, quantum);
        this.revocable = new Local(MemoryKind.REVOCABLE, quantum);
    }

    void attach(OperatorContext handle)
    {
        this.handle = new WeakReference<>(handle);
    }

    /** The host's handle, or null once it was collected (or before it was attached). */
    OperatorContext handle()
    {
        WeakReference<OperatorContext> reference = handle;
        return reference == null ? null : reference.get();
    }

    boolean isRevokingRequested()
    {
        return revokingRequested;
    }

    long lastGrowthNanos()
    {
        return lastGrowthNanos;
    }

    /**
     * Registers the consumer; the caller keeps it strongly for as long as the handle lives.
     *
     * @return the pending request the caller must start with the consumer, or null
     */
    PendingRevoke setRevocableConsumer(RevocableConsumer newConsumer)
    {
        PendingRevoke pending;
        synchronized (revokeLock) {
            if (closed) {
                throw new IllegalStateException("operator " + describe() + " is already closed");
            }
            RevocableConsumer registered = consumer == null ? null : consumer.get();
            if (consumer != null) {
                throw new IllegalStateException("operator " + describe() + " already has a revocable consumer: " + registered);
            }
            consumer = new WeakReference<>(newConsumer);
            pending = revocation;
            if (pending != null) {
                pending.started = true;
            }
        }
        return pending;
    }

    /**
     * Makes a revoke request and starts the registered consumer, if any, on this thread.
     *
     * @return the request, or null if the operator holds no revocable memory, is closed, or was already asked and has
     *         not finished
     */
    PendingRevoke requestRevocation()
    {
        PendingRevoke requested;
        RevocableConsumer toStart;
        synchronized (revokeLock) {
            // what the pool gets back: the reservation, which a quantum may round up from the bytes
            long bytes = revocable.reservedBytes();
            if (closed || revocation != null || bytes == 0) {
                return null;
            }
            toStart = consumer == null ? null : consumer.get();
            if (consumer != null && toStart == null) {
                // the consumer went with the handle: the cleaner is about to release this operator
                return null;
            }
            requested = new PendingRevoke(bytes);
            revocation = requested;
            revokingRequested = true;
            requested.started = toStart != null;
        }
        log.debug("Requested memory revoke of {} ({} revocable bytes)", describe(), requested.requestedBytes);
        if (toStart != null) {
            start(requested, toStart);
        }
        return requested;
    }

    /** Trino's {@code requestMemoryRevoking()}: a failed revoke fails the query on this node. */
    long requestMemoryRevoking()
    {
        PendingRevoke requested = requestRevocation();
        if (requested == null) {
            return 0;
        }
        requested.done.whenComplete((ignored, failure) -> {
            if (failure != null && !(failure instanceof java.util.concurrent.CancellationException)) {
                task.query.fail(errorCode(failure), revokeFailureMessage(failure));
            }
        });
        return requested.requestedBytes;
    }

    /** The message a failed revoke fails the query with. */
    String revokeFailureMessage(Throwable failure)
    {
        if (failure instanceof MemoryGovernanceException) {
            return failure.getMessage();
        }
        return "Memory revoke of operator " + describe() + " failed: " + failure;
    }

    /** The error code a failed revoke fails the query with: the failure's own, if memory governance raised it. */
    static ErrorCode errorCode(Throwable failure)
    {
        return failure instanceof MemoryGovernanceException governance ? governance.errorCode() : ErrorCode.GENERIC_MEMORY_ERROR;
    }

    void start(PendingRevoke requested, RevocableConsumer consumer)
    {
        CompletableFuture<?> future;
        try {
            future = consumer.startMemoryRevoke();
            if (future == null) {
                throw new IllegalStateException("RevocableConsumer.startMemoryRevoke() of operator " + describe() + " returned null: " + consumer);
            }
        }
        catch (RuntimeException e) {
            completeRevoke(requested, consumer, e);
            return;
        }
        boolean cancelled;
        synchronized (revokeLock) {
            cancelled = requested.cancelled;
            if (!cancelled) {
                requested.consumerFuture = new WeakReference<>(future);
            }
        }
        if (cancelled) {
            // closed while the consumer was starting
            cancelQuietly(future);
            return;
        }
        // the future's callback holds the consumer (and so, usually, the handle) only while the host's spill runs
        future.whenComplete((ignored, failure) -> completeRevoke(requested, consumer, failure));
    }

    private void completeRevoke(PendingRevoke requested, RevocableConsumer consumer, Throwable failure)
    {
        synchronized (revokeLock) {
            if (requested.cancelled) {
                return;
            }
        }
        if (failure == null) {
            try {
                consumer.finishMemoryRevoke();
            }
            catch (RuntimeException e) {
                failure = e;
            }
        }
        clearRevocation(requested);
        if (failure == null) {
            log.debug("Memory revoke of {} finished; {} revocable bytes left", describe(), revocable.bytes());
            requested.done.complete(null);
        }
        else {
            Throwable cause = unwrap(failure);
            log.debug("Memory revoke of {} failed", describe(), cause);
            requested.done.completeExceptionally(cause);
        }
    }

    private void clearRevocation(PendingRevoke requested)
    {
        synchronized (revokeLock) {
            if (revocation == requested) {
                revocation = null;
                revokingRequested = false;
            }
        }
    }

    /** A polling operator without a consumer dropped its revocable memory to zero: its request is done. */
    private void revocableMemoryReleased()
    {
        PendingRevoke requested;
        synchronized (revokeLock) {
            requested = revocation;
            if (requested == null || requested.started) {
                return;
            }
            revocation = null;
            revokingRequested = false;
        }
        requested.done.complete(null);
    }

    /**
     * Cancels a pending revoke: the operator closed, or its query or task was killed.
     *
     * @return true if {@code close} and this call was the one that closed the operator
     */
    private boolean cancelRevocation(boolean close)
    {
        PendingRevoke requested;
        CompletableFuture<?> consumerFuture;
        boolean closedNow;
        synchronized (revokeLock) {
            closedNow = close && !closed;
            closed |= close;
            requested = revocation;
            if (requested == null) {
                return closedNow;
            }
            revocation = null;
            revokingRequested = false;
            requested.cancelled = true;
            consumerFuture = requested.consumerFuture();
        }
        log.debug("Cancelled memory revoke of {}", describe());
        if (consumerFuture != null) {
            cancelQuietly(consumerFuture);
        }
        requested.done.cancel(false);
        return closedNow;
    }

    private void cancelQuietly(CompletableFuture<?> future)
    {
        try {
            future.cancel(false);
        }
        catch (UnsupportedOperationException e) {
            // a future that refuses cancellation (a MemoryFuture, say) is simply left to complete; its outcome is ignored
            log.debug("Revoke future of {} cannot be cancelled: {}", describe(), e.toString());
        }
    }

    private static Throwable unwrap(Throwable failure)
    {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    String describe()
    {
        return task.taskId + " " + tag;
    }

    /**
     * Releases all three kinds and cancels a pending revoke. Idempotent.
     *
     * @return the bytes released, or -1 if the operator was already closed (by its handle, its task or the cleaner)
     */
    long close()
    {
        boolean closedNow = cancelRevocation(true);
        // every caller releases, so that no close() returns while another is still releasing
        long released = user.close() + system.close() + revocable.close();
        task.operatorClosed(this);
        return closedNow ? released : -1;
    }

    /**
     * The cleaner's action: the handle was collected. If the operator was not closed, releases what it holds as
     * {@link #close()} would and reports it. Never throws (the cleaner thread would swallow it).
     */
    void collected()
    {
        try {
            long released = close();
            if (released >= 0) {
                log.warn("Operator context {} {} of query {} on node {} was garbage-collected without close(); released {}",
                        task.taskId, tag, task.taskId.queryId(), task.query.node().nodeId(), succinct(released));
                task.query.node().contextCollected(task.taskId, tag, released);
            }
        }
        catch (RuntimeException | Error e) {
            log.error("Releasing garbage-collected operator context {} failed", describe(), e);
        }
    }

    /** Drops what the operator holds without the checks of a normal call: the query was killed. */
    void forceRelease()
    {
        cancelRevocation(false);
        user.forceRelease();
        system.forceRelease();
        revocable.forceRelease();
    }

    @Override
    public String toString()
    {
        return "OperatorContext{" + task.taskId + " " + tag + ", user=" + user.bytes() + ", system=" + system.bytes() + ", revocable=" + revocable.bytes() + "}";
    }

    /**
     * One kind of the operator's memory; the handle's {@link LocalMemoryContext} delegates here.
     *
     * <p>It keeps two figures: {@code bytes}, what the host set, and {@code reserved}, what its task, query, tracker
     * and pool were charged for it. Without a reservation quantum they are equal and every change is carried up.
     * With a quantum {@code q} (Velox's technique) the reservation grows to {@code bytes} rounded up to a multiple of
     * {@code q}, shrinks only once it exceeds {@code bytes} by two quanta (to one quantum above), and drops to zero
     * with {@code bytes}; a change that stays inside the reservation touches nothing above this context and takes no
     * lock: one volatile write of {@code bytes}.
     *
     * <p>Every change of {@code reserved} is made under this context's monitor, and writes {@code reserved} before
     * {@code bytes}. The lock-free path reads {@code reserved}, writes {@code bytes} and reads
     * {@code reserved} again: if it changed meanwhile (a close, a kill, another thread's change), the call is redone
     * under the monitor, so {@code bytes <= reserved} whenever no call is in flight.
     */
    final class Local
    {
        private final MemoryKind kind;
        // 0: every change is carried up
        private final long quantum;
        // written by the lock-free path and under the monitor, read without it: a limit message reads
        // every operator of the query while its own operator's monitor is held, and taking the others' monitors
        // there could deadlock
        private volatile long bytes;
        // written under this context's monitor only
        private volatile long reserved;
        // guarded by this context's monitor
        private boolean closed;

        Local(MemoryKind kind, long quantum)
        {
            this.kind = kind;
            this.quantum = quantum;
        }

        long bytes()
        {
            return bytes;
        }

        /** What the task, query, tracker and pool hold for this context: {@link #bytes()}, or more with a quantum. */
        long reservedBytes()
        {
            return reserved;
        }

        MemoryFuture setBytes(long newBytes)
        {
            if (withinReservation(newBytes)) {
                return MemoryFuture.NOT_BLOCKED;
            }
            return setBytesLocked(newBytes);
        }

        boolean trySetBytes(long newBytes)
        {
            if (withinReservation(newBytes)) {
                return true;
            }
            return trySetBytesLocked(newBytes);
        }

        /**
         * The lock-free path: sets {@code bytes} if the value fits the current reservation without changing it.
         *
         * @return false if the caller must take the monitor (no quantum, outside the reservation, closed, or a race)
         */
        private boolean withinReservation(long newBytes)
        {
            long reservation = reserved;
            // never true without a quantum; zero always goes through the monitor, which drops the reservation. Closed
            // and killed need no check of their own: close() and a kill set the reservation to 0 before they return,
            // so a call that starts after them fails this test, and one that overlaps them is ordered before them
            if (newBytes <= 0 || newBytes > reservation || reservation - newBytes >= 2 * quantum) {
                return false;
            }
            return commitWithin(reservation, newBytes);
        }

        /**
         * The second half of the lock-free path, apart so that a test can change the reservation between the halves:
         * writes {@code bytes} and tells whether the reservation is still the one the first half read.
         */
        boolean commitWithin(long reservation, long newBytes)
        {
            // a volatile write, so that the second read of reserved cannot be ordered before it
            bytes = newBytes;
            return reserved == reservation;
        }

        private synchronized MemoryFuture setBytesLocked(long newBytes)
        {
            checkUsable(newBytes);
            return apply(newBytes);
        }

        // after checkUsable, under this monitor
        private MemoryFuture apply(long newBytes)
        {
            long delta = targetReservation(newBytes) - reserved;
            // the parents are updated first; only if they accept is the new value committed here
            MemoryFuture future = delta == 0 ? MemoryFuture.NOT_BLOCKED : task.update(kind, slot, delta);
            commit(newBytes, delta);
            return future;
        }

        private synchronized boolean trySetBytesLocked(long newBytes)
        {
            checkUsable(newBytes);
            long delta = targetReservation(newBytes) - reserved;
            if (delta <= 0) {
                apply(newBytes);
                return true;
            }
            if (!task.tryUpdate(kind, slot, delta)) {
                return false;
            }
            commit(newBytes, delta);
            return true;
        }

        /**
         * Records a change the parents accepted, under this monitor: the reservation first, then the bytes, the order
         * the lock-free path relies on.
         */
        private void commit(long newBytes, long reservationDelta)
        {
            long oldBytes = bytes;
            if (reservationDelta != 0) {
                reserved += reservationDelta;
                if (reservationDelta > 0) {
                    lastGrowthNanos = System.nanoTime();
                }
            }
            bytes = newBytes;
            if (kind == MemoryKind.REVOCABLE && newBytes == 0 && oldBytes != 0) {
                revocableMemoryReleased();
            }
        }

        /** The reservation {@code newBytes} needs, given the current one; under the monitor. */
        private long targetReservation(long newBytes)
        {
            if (quantum == 0 || newBytes == 0) {
                return newBytes;
            }
            long current = reserved;
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

        /** Idempotent; returns the reserved bytes this call released. */
        synchronized long close()
        {
            if (closed) {
                return 0;
            }
            closed = true;
            long released = reserved;
            forceRelease();
            return released;
        }

        synchronized void forceRelease()
        {
            if (reserved != 0) {
                task.release(kind, slot, reserved);
                reserved = 0;
            }
            bytes = 0;
        }

        private void checkUsable(long newBytes)
        {
            if (closed) {
                throw new IllegalStateException(kind.name().toLowerCase(Locale.ROOT) + " memory context of " + task.taskId + " " + tag + " is already closed");
            }
            if (newBytes < 0) {
                throw new IllegalArgumentException("bytes is negative: " + newBytes);
            }
            task.checkNotFailed();
        }
    }
}
