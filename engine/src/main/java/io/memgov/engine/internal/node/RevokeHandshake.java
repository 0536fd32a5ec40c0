package io.memgov.engine.internal.node;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.spill.RevocableConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.WeakReference;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import static java.util.Objects.requireNonNull;

/**
 * One operator's side of the revoke handshake (Trino's): a request made by the revoking scheduler, the consumer the
 * operator registered (started on a request, finished when its future completes), or the operator's polling (a
 * request completes when its revocable memory drops to zero), and the cancellation when the operator closes or its
 * query or task is killed.
 *
 * <p>Everything here is guarded by one lock, apart from the operator's memory monitors: a revoke is started, finished
 * and cancelled without holding them. Nothing reachable from here reaches the operator's handle: the consumer is held
 * weakly (the handle holds it strongly), and a request is a {@link PendingRevoke}, not the public {@code Revocation}.
 */
final class RevokeHandshake
{
    // the public type's logger: hosts configure and read the operator's log lines under that name
    private static final Logger log = LoggerFactory.getLogger(OperatorMemoryContext.class);

    private final OperatorState operator;
    private final Object lock = new Object();
    // guarded by lock; weak because the host's consumer usually references the handle
    private WeakReference<RevocableConsumer> consumer;
    private PendingRevoke revocation;
    private boolean closed;
    // written under lock, read without it by operator threads that poll
    private volatile boolean requested;

    RevokeHandshake(OperatorState operator)
    {
        this.operator = requireNonNull(operator, "operator is null");
    }

    boolean isRequested()
    {
        return requested;
    }

    /**
     * Registers the consumer; the caller keeps it strongly for as long as the handle lives.
     *
     * @return the pending request the caller must start with the consumer, or null
     */
    PendingRevoke setConsumer(RevocableConsumer newConsumer)
    {
        PendingRevoke pending;
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("operator " + operator.describe() + " is already closed");
            }
            RevocableConsumer registered = consumer == null ? null : consumer.get();
            if (consumer != null) {
                throw new IllegalStateException("operator " + operator.describe() + " already has a revocable consumer: " + registered);
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
    PendingRevoke request()
    {
        PendingRevoke made;
        RevocableConsumer toStart;
        synchronized (lock) {
            // what the pool gets back: the reservation, which a quantum may round up from the bytes
            long bytes = operator.revocableReservedBytes();
            if (closed || revocation != null || bytes == 0) {
                return null;
            }
            toStart = consumer == null ? null : consumer.get();
            if (consumer != null && toStart == null) {
                // the consumer went with the handle: the cleaner is about to release this operator
                return null;
            }
            made = new PendingRevoke(bytes);
            revocation = made;
            requested = true;
            made.started = toStart != null;
        }
        log.debug("Requested memory revoke of {} ({} revocable bytes)", operator.describe(), made.requestedBytes);
        if (toStart != null) {
            start(made, toStart);
        }
        return made;
    }

    /** Trino's {@code requestMemoryRevoking()}: a failed revoke fails the query on this node. */
    long requestFailingQueryOnError()
    {
        PendingRevoke made = request();
        if (made == null) {
            return 0;
        }
        made.done.whenComplete((ignored, failure) -> {
            if (failure != null && !(failure instanceof CancellationException)) {
                operator.task.query.fail(errorCode(failure), failureMessage(failure));
            }
        });
        return made.requestedBytes;
    }

    /** The message a failed revoke fails the query with. */
    private String failureMessage(Throwable failure)
    {
        if (failure instanceof MemoryGovernanceException) {
            return failure.getMessage();
        }
        return "Memory revoke of operator " + operator.describe() + " failed: " + failure;
    }

    /** The error code a failed revoke fails the query with: the failure's own, if memory governance raised it. */
    private static ErrorCode errorCode(Throwable failure)
    {
        return failure instanceof MemoryGovernanceException governance ? governance.errorCode() : ErrorCode.GENERIC_MEMORY_ERROR;
    }

    void start(PendingRevoke made, RevocableConsumer starting)
    {
        CompletableFuture<?> future;
        try {
            future = starting.startMemoryRevoke();
            if (future == null) {
                throw new IllegalStateException("RevocableConsumer.startMemoryRevoke() of operator " + operator.describe() + " returned null: " + starting);
            }
        }
        catch (RuntimeException e) {
            complete(made, starting, e);
            return;
        }
        boolean cancelled;
        synchronized (lock) {
            cancelled = made.cancelled;
            if (!cancelled) {
                made.consumerFuture = new WeakReference<>(future);
            }
        }
        if (cancelled) {
            // closed while the consumer was starting
            cancelQuietly(future);
            return;
        }
        // the future's callback holds the consumer (and so, usually, the handle) only while the host's spill runs
        future.whenComplete((ignored, failure) -> complete(made, starting, failure));
    }

    private void complete(PendingRevoke made, RevocableConsumer finishing, Throwable failure)
    {
        synchronized (lock) {
            if (made.cancelled) {
                return;
            }
        }
        if (failure == null) {
            try {
                finishing.finishMemoryRevoke();
            }
            catch (RuntimeException e) {
                failure = e;
            }
        }
        clear(made);
        if (failure == null) {
            log.debug("Memory revoke of {} finished; {} revocable bytes left", operator.describe(), operator.revocableBytes());
            made.done.complete(null);
        }
        else {
            Throwable cause = unwrap(failure);
            log.debug("Memory revoke of {} failed", operator.describe(), cause);
            made.done.completeExceptionally(cause);
        }
    }

    private void clear(PendingRevoke made)
    {
        synchronized (lock) {
            if (revocation == made) {
                revocation = null;
                requested = false;
            }
        }
    }

    /** A polling operator without a consumer dropped its revocable memory to zero: its request is done. */
    void revocableMemoryReleased()
    {
        PendingRevoke made;
        synchronized (lock) {
            made = revocation;
            if (made == null || made.started) {
                return;
            }
            revocation = null;
            requested = false;
        }
        made.done.complete(null);
    }

    /**
     * Cancels a pending revoke, and with {@code close} refuses every later one: the operator closed, or its query or
     * task was killed.
     *
     * @return true if {@code close} and this call was the one that closed the operator
     */
    boolean cancel(boolean close)
    {
        PendingRevoke made;
        CompletableFuture<?> consumerFuture;
        boolean closedNow;
        synchronized (lock) {
            closedNow = close && !closed;
            closed |= close;
            made = revocation;
            if (made == null) {
                return closedNow;
            }
            revocation = null;
            requested = false;
            made.cancelled = true;
            consumerFuture = made.consumerFuture();
        }
        log.debug("Cancelled memory revoke of {}", operator.describe());
        if (consumerFuture != null) {
            cancelQuietly(consumerFuture);
        }
        made.done.cancel(false);
        return closedNow;
    }

    private void cancelQuietly(CompletableFuture<?> future)
    {
        try {
            future.cancel(false);
        }
        catch (UnsupportedOperationException e) {
            // a future that refuses cancellation (a MemoryFuture, say) is simply left to complete; its outcome is ignored
            log.debug("Revoke future of {} cannot be cancelled: {}", operator.describe(), e.toString());
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
}
