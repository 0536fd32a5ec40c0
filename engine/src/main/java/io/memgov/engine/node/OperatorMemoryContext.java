package io.memgov.engine.node;

import io.memgov.spi.ErrorCode;
import io.memgov.spi.MemoryGovernanceException;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.spill.RevocableConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * One operator of a task (a consumer such as {@code HashAggregation}), holding user, system and revocable memory.
 * Closing it releases everything it holds.
 *
 * <p><b>Revocable memory.</b> The node's revoking scheduler asks operators that hold revocable memory to give it back
 * ({@link #requestRevocation()}). An operator takes part in one of two ways:
 * <ul>
 *     <li>it registers a {@link RevocableConsumer} with {@link #setRevocableConsumer}: on a request the consumer's
 *     {@code startMemoryRevoke()} is called (on the requesting thread; it must not block, so an operator usually
 *     completes the returned future from its own thread after spilling), and once that future completes normally,
 *     {@code finishMemoryRevoke()}, after which the operator may be asked again. A consumer registered after a
 *     request was made is started at once, on the registering thread;</li>
 *     <li>or it polls {@link #isMemoryRevokingRequested()} between pages and, when set, spills and sets its revocable
 *     memory to zero, which completes the request.</li>
 * </ul>
 * A failed revoke fails the query (the scheduler fails it on every node and tells the engine's failure listeners).
 * Closing the operator, or killing its query or task, cancels a pending request: the consumer's future is cancelled
 * and {@code finishMemoryRevoke()} is not called.
 */
public final class OperatorMemoryContext
        implements AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(OperatorMemoryContext.class);

    // JVM-wide, so unique on every node; it doubles as the registration order strategies break ties with
    private static final AtomicLong NEXT_ID = new AtomicLong();

    private final TaskMemoryContext task;
    private final String tag;
    private final long id = NEXT_ID.incrementAndGet();
    private final Local user = new Local(MemoryKind.USER);
    private final Local system = new Local(MemoryKind.SYSTEM);
    private final Local revocable = new Local(MemoryKind.REVOCABLE);

    // a separate lock from the Locals' monitors: a revoke is started, finished and cancelled without holding them
    private final Object revokeLock = new Object();
    // guarded by revokeLock
    private RevocableConsumer consumer;
    private MemoryRevocation revocation;
    private boolean closed;
    // written under revokeLock, read without it by operator threads that poll
    private volatile boolean revokingRequested;
    // when the operator last grew any of its memory; the scheduler takes the latest grower for the requester
    private volatile long lastGrowthNanos;

    OperatorMemoryContext(TaskMemoryContext task, String tag)
    {
        this.task = requireNonNull(task, "task is null");
        this.tag = requireNonNull(tag, "tag is null");
    }

    /** Unique on the node for the engine's lifetime; also increases with each operator created. */
    public long id()
    {
        return id;
    }

    public TaskMemoryContext task()
    {
        return task;
    }

    /** The operator kind, e.g. {@code HashAggregation}; the pool keeps per-tag totals. */
    public String tag()
    {
        return tag;
    }

    public LocalMemoryContext userMemory()
    {
        return user;
    }

    public LocalMemoryContext systemMemory()
    {
        return system;
    }

    public LocalMemoryContext revocableMemory()
    {
        return revocable;
    }

    /**
     * Registers the operator's revoke listener. If a revoke was already requested, the consumer is started at once, on
     * this thread (Trino's late listener).
     *
     * @throws IllegalStateException if a consumer is already registered, naming the operator, or the operator is closed
     */
    public void setRevocableConsumer(RevocableConsumer consumer)
    {
        requireNonNull(consumer, "consumer is null");
        MemoryRevocation pending;
        synchronized (revokeLock) {
            if (closed) {
                throw new IllegalStateException("operator " + describe() + " is already closed");
            }
            if (this.consumer != null) {
                throw new IllegalStateException("operator " + describe() + " already has a revocable consumer: " + this.consumer);
            }
            this.consumer = consumer;
            pending = revocation;
            if (pending != null) {
                pending.started = true;
            }
        }
        if (pending != null) {
            start(pending, consumer);
        }
    }

    /** True from a revoke request until the revoke finished, failed or was cancelled. */
    public boolean isMemoryRevokingRequested()
    {
        return revokingRequested;
    }

    /**
     * Trino's {@code OperatorContext.requestMemoryRevoking()}: asks the operator to give back its revocable memory.
     * A failure of a revoke requested this way fails the query on this node only; the engine's scheduler uses
     * {@link #requestRevocation()} and fails it on every node.
     *
     * @return the revocable bytes the operator held when asked, or 0 if it holds none, is closed, or was already
     *         asked and has not finished
     */
    public long requestMemoryRevoking()
    {
        Optional<MemoryRevocation> requested = requestRevocation();
        requested.ifPresent(revocation -> revocation.done.whenComplete((ignored, failure) -> {
            if (failure != null && !(failure instanceof CancellationException)) {
                task.query().fail(errorCode(failure), revokeFailureMessage(failure));
            }
        }));
        return requested.map(MemoryRevocation::requestedBytes).orElse(0L);
    }

    /**
     * Asks the operator to give back its revocable memory; called by the node's revoking scheduler. Starts the
     * registered consumer, if any, on this thread.
     *
     * @return the request, or empty if the operator holds no revocable memory, is closed, or was already asked and
     *         has not finished
     */
    public Optional<MemoryRevocation> requestRevocation()
    {
        MemoryRevocation requested;
        RevocableConsumer toStart;
        synchronized (revokeLock) {
            long bytes = revocable.bytes();
            if (closed || revocation != null || bytes == 0) {
                return Optional.empty();
            }
            requested = new MemoryRevocation(this, bytes);
            revocation = requested;
            revokingRequested = true;
            toStart = consumer;
            requested.started = toStart != null;
        }
        log.debug("Requested memory revoke of {} ({} revocable bytes)", describe(), requested.requestedBytes());
        if (toStart != null) {
            start(requested, toStart);
        }
        return Optional.of(requested);
    }

    /** System.nanoTime() of the operator's last reservation increase, of any kind; 0 if it never reserved. */
    public long lastGrowthNanos()
    {
        return lastGrowthNanos;
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

    private void start(MemoryRevocation requested, RevocableConsumer consumer)
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
        synchronized (revokeLock) {
            if (!requested.cancelled) {
                requested.consumerFuture = future;
                future = null;
            }
        }
        if (future != null) {
            // closed while the consumer was starting
            cancelQuietly(future);
            return;
        }
        requested.consumerFuture.whenComplete((ignored, failure) -> completeRevoke(requested, consumer, failure));
    }

    private void completeRevoke(MemoryRevocation requested, RevocableConsumer consumer, Throwable failure)
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

    private void clearRevocation(MemoryRevocation requested)
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
        MemoryRevocation requested;
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

    /** Cancels a pending revoke: the operator closed, or its query or task was killed. */
    private void cancelRevocation(boolean close)
    {
        MemoryRevocation requested;
        CompletableFuture<?> consumerFuture;
        synchronized (revokeLock) {
            closed |= close;
            requested = revocation;
            if (requested == null) {
                return;
            }
            revocation = null;
            revokingRequested = false;
            requested.cancelled = true;
            consumerFuture = requested.consumerFuture;
        }
        log.debug("Cancelled memory revoke of {}", describe());
        if (consumerFuture != null) {
            cancelQuietly(consumerFuture);
        }
        requested.done.cancel(false);
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

    private String describe()
    {
        return task.taskId() + " " + tag;
    }

    /** Releases all three kinds and cancels a pending revoke. Idempotent. */
    @Override
    public void close()
    {
        cancelRevocation(true);
        user.close();
        system.close();
        revocable.close();
        task.operatorClosed(this);
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
        return "OperatorMemoryContext{" + task.taskId() + " " + tag + ", user=" + user.bytes() + ", system=" + system.bytes() + ", revocable=" + revocable.bytes() + "}";
    }

    private final class Local
            implements LocalMemoryContext
    {
        private final MemoryKind kind;
        // written under this context's monitor, read without it: a limit message reads every operator of the query
        // while its own operator's monitor is held, and taking the others' monitors there could deadlock
        private volatile long bytes;
        private boolean closed;

        Local(MemoryKind kind)
        {
            this.kind = kind;
        }

        @Override
        public long bytes()
        {
            return bytes;
        }

        @Override
        public synchronized MemoryFuture setBytes(long newBytes)
        {
            checkUsable(newBytes);
            long delta = newBytes - bytes;
            if (delta == 0) {
                return MemoryFuture.NOT_BLOCKED;
            }
            // the parents are updated first; only if they accept is the new value committed here
            MemoryFuture future = task.update(kind, tag, delta);
            bytes = newBytes;
            if (delta > 0) {
                lastGrowthNanos = System.nanoTime();
            }
            else if (kind == MemoryKind.REVOCABLE && newBytes == 0) {
                revocableMemoryReleased();
            }
            return future;
        }

        @Override
        public synchronized boolean trySetBytes(long newBytes)
        {
            checkUsable(newBytes);
            long delta = newBytes - bytes;
            if (delta <= 0) {
                setBytes(newBytes);
                return true;
            }
            if (!task.tryUpdate(kind, tag, delta)) {
                return false;
            }
            bytes = newBytes;
            lastGrowthNanos = System.nanoTime();
            return true;
        }

        @Override
        public synchronized void close()
        {
            if (closed) {
                return;
            }
            closed = true;
            if (bytes != 0) {
                task.release(kind, tag, bytes);
                bytes = 0;
            }
        }

        synchronized void forceRelease()
        {
            if (bytes != 0) {
                task.release(kind, tag, bytes);
                bytes = 0;
            }
        }

        private void checkUsable(long newBytes)
        {
            if (closed) {
                throw new IllegalStateException(kind.name().toLowerCase(java.util.Locale.ROOT) + " memory context of " + task.taskId() + " " + tag + " is already closed");
            }
            if (newBytes < 0) {
                throw new IllegalArgumentException("bytes is negative: " + newBytes);
            }
            task.checkNotFailed();
        }
    }
}
