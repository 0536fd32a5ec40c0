package io.memgov.engine.internal.node;

import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * The accounting state of one task, shared by its {@link TaskContext} views: the query's own view (which the
 * query holds strongly) and the host's handle (held here only weakly, watched by the {@link ContextCleaner}). Holds
 * its operators' states strongly and their handles weakly.
 */
final class TaskState
{
    // the public class's logger: hosts configure and read the task's log lines under that name
    private static final Logger log = LoggerFactory.getLogger(TaskMemoryContext.class);

    // the query's state, not a view: the hot path (update, tryUpdate, release, checkNotFailed) calls it directly
    final QueryContextState query;
    final TaskId taskId;
    final boolean speculative;
    final Instant createTime;
    final long createNanos;
    // the view the query holds, so that closing removes exactly the query's entry
    final TaskContext queryView;
    final AtomicLong userBytes = new AtomicLong();
    final AtomicLong systemBytes = new AtomicLong();
    final AtomicLong revocableBytes = new AtomicLong();
    private final Set<OperatorState> operators = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    final AtomicReference<QueryKilledException> failure = new AtomicReference<>();
    // the host's handle once the query handed one out; null while it has not
    private volatile WeakReference<TaskContext> hostHandle;

    TaskState(QueryContextState query, TaskId taskId, boolean speculative, Instant createTime, long createNanos, TaskContext queryView)
    {
        this.query = requireNonNull(query, "query is null");
        this.taskId = requireNonNull(taskId, "taskId is null");
        this.speculative = speculative;
        this.createTime = requireNonNull(createTime, "createTime is null");
        this.createNanos = createNanos;
        this.queryView = requireNonNull(queryView, "queryView is null");
    }

    synchronized void attachHostHandle(TaskContext handle)
    {
        if (hostHandle != null) {
            throw new IllegalStateException("task " + taskId + " already has a host handle");
        }
        hostHandle = new WeakReference<>(handle);
    }

    /**
     * The task handle new operators hold, so that a live operator keeps its task's handle alive: the host's handle
     * when there is one, else the query's view.
     *
     * @throws IllegalStateException if the host's handle was collected (the task is being released)
     */
    TaskContext operatorParent()
    {
        WeakReference<TaskContext> reference = hostHandle;
        if (reference == null) {
            return queryView;
        }
        TaskContext handle = reference.get();
        if (handle == null) {
            throw new IllegalStateException("task memory context " + taskId + " is already closed: it was garbage-collected");
        }
        return handle;
    }

    OperatorContext addOperator(String tag)
    {
        requireNonNull(tag, "tag is null");
        if (tag.isBlank()) {
            // the tag names the operator in the pool's per-tag totals, in kill messages and in Top Consumers
            throw new IllegalArgumentException("tag is blank: '" + tag + "'; expected the operator kind, such as HashAggregation");
        }
        if (closed.get()) {
            throw new IllegalStateException("task memory context " + taskId + " is already closed");
        }
        checkNotFailed();
        OperatorState operator = new OperatorState(this, tag);
        OperatorContext handle = new OperatorContext(operatorParent(), operator);
        operators.add(operator);
        return handle;
    }

    /** The handles of the operators whose handles are still alive. */
    List<OperatorContext> operators()
    {
        List<OperatorContext> alive = new ArrayList<>(operators.size());
        for (OperatorState operator : operators) {
            OperatorContext handle = operator.handle();
            if (handle != null) {
                alive.add(handle);
            }
        }
        return List.copyOf(alive);
    }

    boolean isClosed()
    {
        return closed.get();
    }

    MemoryFuture update(MemoryKind kind, PoolSlot slot, long delta)
    {
        if (delta < 0) {
            release(kind, slot, -delta);
            return MemoryFuture.NOT_BLOCKED;
        }
        MemoryFuture future = query.reserve(slot, kind, delta);
        long held = counter(kind).addAndGet(delta);
        if (kind == MemoryKind.USER && held <= TaskContext.GUARANTEED_BYTES) {
            return MemoryFuture.NOT_BLOCKED;
        }
        return future;
    }

    boolean tryUpdate(MemoryKind kind, PoolSlot slot, long delta)
    {
        if (!query.tryReserve(slot, kind, delta)) {
            return false;
        }
        counter(kind).addAndGet(delta);
        return true;
    }

    void release(MemoryKind kind, PoolSlot slot, long bytes)
    {
        query.release(slot, kind, bytes);
        counter(kind).addAndGet(-bytes);
    }

    private AtomicLong counter(MemoryKind kind)
    {
        return switch (kind) {
            case USER -> userBytes;
            case SYSTEM -> systemBytes;
            case REVOCABLE -> revocableBytes;
        };
    }

    void operatorClosed(OperatorState operator)
    {
        operators.remove(operator);
    }

    void forceRelease()
    {
        for (OperatorState operator : operators) {
            operator.forceRelease();
        }
    }

    boolean fail(ErrorCode errorCode, String message)
    {
        if (!failure.compareAndSet(null, new QueryKilledException(errorCode, message))) {
            return false;
        }
        forceRelease();
        return true;
    }

    /** The task as its node's snapshot shows it. */
    TaskSnapshot snapshot(long nowNanos)
    {
        QueryKilledException killed = failure.get();
        if (killed == null) {
            killed = query.failure().orElse(null);
        }
        return new TaskSnapshot(taskId, speculative, Duration.ofNanos(Math.max(0, nowNanos - createNanos)),
                Math.max(0, userBytes.get()), Math.max(0, systemBytes.get()), Math.max(0, revocableBytes.get()), killed == null ? null : killed.errorCode());
    }

    boolean isFailed()
    {
        return failure.get() != null || query.failure().isPresent();
    }

    void checkNotFailed()
    {
        query.checkNotFailed();
        QueryKilledException killed = failure.get();
        if (killed != null) {
            throw new QueryKilledException(killed.errorCode(), killed.getMessage());
        }
    }

    /**
     * Closes every operator and leaves the query. Idempotent.
     *
     * @return true if this call closed the task
     */
    boolean close()
    {
        if (!closed.compareAndSet(false, true)) {
            return false;
        }
        for (OperatorState operator : operators) {
            operator.close();
        }
        query.taskClosed(queryView);
        return true;
    }

    /**
     * Closes the task as {@link #close()} would, for a cleaner's action, naming in {@code tags} the operators it
     * closed (those already closed reported themselves, or were closed normally).
     *
     * @return the bytes released, or -1 if the task was already closed
     */
    long closeCollected(Set<String> tags)
    {
        if (!closed.compareAndSet(false, true)) {
            return -1;
        }
        long released = 0;
        for (OperatorState operator : operators) {
            long bytes = operator.close();
            if (bytes >= 0) {
                released += bytes;
                tags.add(operator.tag);
            }
        }
        query.taskClosed(queryView);
        return released;
    }

    /**
     * The cleaner's action for the host's handle: if the task was not closed, closes it as {@link #close()} would and
     * reports it with what its still-open operators held. Those operators' handles are gone too (each held the task's
     * handle), so they are reported here, as part of the task, and not again by their own cleaner actions; an operator
     * whose own action ran first reported itself. If the query's host handle is gone too, the task is left to the
     * query's action, which releases and reports it with the query's other tasks in one line. Never throws (the
     * cleaner thread would swallow it).
     */
    void collected()
    {
        try {
            if (query.isHostHandleCollected()) {
                // the query's action runs too (its handle is unreachable): it closes this task if it is still open
                return;
            }
            Set<String> tags = new TreeSet<>();
            long released = closeCollected(tags);
            if (released < 0) {
                return;
            }
            log.warn("Task context {} of query {} on node {} was garbage-collected without close(); released {}{}",
                    taskId, taskId.queryId(), query.node().nodeId(), succinct(released), tags.isEmpty() ? "" : " held by its operators " + tags);
            query.node().contextCollected(taskId, null, released);
        }
        catch (RuntimeException | Error e) {
            log.error("Releasing garbage-collected task context {} failed", taskId, e);
        }
    }
}
