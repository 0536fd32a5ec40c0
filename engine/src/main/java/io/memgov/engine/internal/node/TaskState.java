package io.memgov.engine.internal.node;

import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.Objects.requireNonNull;

/**
 * The accounting state of one task, shared by its {@code TaskContext} handle and views: its counters, its operators'
 * states, and its failure. Its query holds it strongly; the host's handle only through a {@link HostHandleLink},
 * watched by the {@link ContextCleaner}.
 */
final class TaskState
{
    /** The tag a task's own memory has in the pool. */
    static final String LOCAL_TAG = "(task-local)";

    // the query's state, not a handle: the hot path (reserve, tryReserve, release, checkNotFailed) calls it directly
    final QueryContextState query;
    final TaskId taskId;
    final boolean speculative;
    final Instant createTime;
    final long createNanos;
    final AtomicLong userBytes = new AtomicLong();
    final AtomicLong systemBytes = new AtomicLong();
    final AtomicLong revocableBytes = new AtomicLong();
    final AtomicLong directBytes = new AtomicLong();
    final AtomicLong directRevocableBytes = new AtomicLong();
    final HostHandleLink hostHandle = new HostHandleLink();
    private final Set<OperatorState> operators = ConcurrentHashMap.newKeySet();
    // what the task holds that no operator owns: system memory, counted here and above, at no operator
    final LocalMemory localMemory;
    private final AtomicBoolean closed = new AtomicBoolean();
    final AtomicReference<QueryKilledException> failure = new AtomicReference<>();

    TaskState(QueryContextState query, TaskId taskId, boolean speculative, Instant createTime, long createNanos)
    {
        this.query = requireNonNull(query, "query is null");
        this.taskId = requireNonNull(taskId, "taskId is null");
        this.speculative = speculative;
        this.createTime = requireNonNull(createTime, "createTime is null");
        this.createNanos = createNanos;
        this.localMemory = query.node().localMemory(ExactLocalMemory.ofTask(this, MemoryKind.SYSTEM, new PoolSlot(taskId, LOCAL_TAG), null));
    }

    /**
     * Adds an operator's state; the caller gives it a handle.
     *
     * @throws IllegalStateException if the task is closed
     */
    OperatorState addOperator(String tag, boolean broadcast)
    {
        requireNonNull(tag, "tag is null");
        if (tag.isBlank()) {
            // the tag names the operator in the pool's per-tag totals, in kill messages and in Top Consumers
            throw new IllegalArgumentException("tag is blank: '" + tag + "'; expected the operator kind, such as HashAggregation");
        }
        if (closed.get()) {
            throw new IllegalStateException("task memory context " + taskId + " is already closed");
        }
        query.node().checkEngineOpen();
        checkNotFailed();
        OperatorState operator = new OperatorState(this, tag, broadcast);
        operators.add(operator);
        return operator;
    }

    List<OperatorState> operators()
    {
        return List.copyOf(operators);
    }

    boolean isClosed()
    {
        return closed.get();
    }

    /** Carries a growth of {@code delta} bytes to the query; user memory within the task's guarantee never blocks. */
    MemoryFuture reserve(MemoryKind kind, PoolSlot slot, long delta)
    {
        // the query's counters check the growth for overflow: the task's hold a part of what they hold, so they need
        // no check of their own
        MemoryFuture future = query.account().reserve(slot, kind, delta);
        long held = counter(kind).addAndGet(delta);
        if (kind == MemoryKind.USER && held <= TaskMemoryContext.GUARANTEED_BYTES) {
            return MemoryFuture.NOT_BLOCKED;
        }
        return future;
    }

    boolean tryReserve(MemoryKind kind, PoolSlot slot, long delta)
    {
        if (!query.account().tryReserve(slot, kind, delta)) {
            return false;
        }
        counter(kind).addAndGet(delta);
        return true;
    }

    void release(MemoryKind kind, PoolSlot slot, long bytes)
    {
        query.account().release(slot, kind, bytes);
        counter(kind).addAndGet(-bytes);
    }

    private AtomicLong counter(MemoryKind kind)
    {
        return switch (kind) {
            case USER -> userBytes;
            case SYSTEM -> systemBytes;
            case REVOCABLE -> revocableBytes;
            case DIRECT -> directBytes;
            case DIRECT_REVOCABLE -> directRevocableBytes;
        };
    }

    void operatorClosed(OperatorState operator)
    {
        operators.remove(operator);
    }

    /** Gives back the reservations of its operators and its own memory beyond their bytes. */
    long trimReservations()
    {
        long trimmed = localMemory.trimReservation();
        for (OperatorState operator : operators) {
            trimmed += operator.trimReservations();
        }
        return trimmed;
    }

    /** Bytes its operators and its own memory hold reserved beyond what they use. */
    long unusedReservationBytes()
    {
        long unused = OperatorState.unused(localMemory);
        for (OperatorState operator : operators) {
            unused += operator.unusedReservationBytes();
        }
        return unused;
    }

    /** Drops what the task holds without the checks of a normal call: the task or its query was killed. */
    void forceRelease()
    {
        for (OperatorState operator : operators) {
            operator.forceRelease();
        }
        localMemory.forceRelease();
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
        localMemory.close();
        query.taskClosed(this);
        return true;
    }

    /**
     * Closes the task as {@link #close()} would, for a cleaner's action, naming in {@code tags} the operators it
     * closed (those already closed reported themselves, or were closed normally), and {@value #LOCAL_TAG} if the task's
     * own memory held bytes.
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
        long own = localMemory.close();
        if (own > 0) {
            released += own;
            tags.add(LOCAL_TAG);
        }
        query.taskClosed(this);
        return released;
    }

    /** The cleaner's action for the host's handle: see {@link ContextReclamation#taskCollected}. */
    void collected()
    {
        ContextReclamation.taskCollected(this);
    }

    @Override
    public String toString()
    {
        return "TaskContext{" + taskId + ", user=" + userBytes + ", system=" + systemBytes + ", revocable=" + revocableBytes + "}";
    }
}
