package io.memgov.engine.node;

import io.memgov.spi.ErrorCode;
import io.memgov.spi.QueryKilledException;
import io.memgov.spi.TaskId;
import io.memgov.spi.pool.MemoryFuture;

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
 * The part of a query that runs on one node. Holds the task's operators; user memory up to
 * {@link #GUARANTEED_BYTES} never blocks, so that every task can make progress (Trino's 1 MB guarantee).
 */
public final class TaskMemoryContext
        implements AutoCloseable
{
    /** User memory a task may hold before a full pool makes it wait. */
    public static final long GUARANTEED_BYTES = 1024 * 1024;

    private final QueryMemoryContext query;
    private final TaskId taskId;
    private final boolean speculative;
    private final Instant createTime;
    private final long createNanos;
    private final AtomicLong userBytes = new AtomicLong();
    private final AtomicLong systemBytes = new AtomicLong();
    private final AtomicLong revocableBytes = new AtomicLong();
    private final Set<OperatorMemoryContext> operators = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<QueryKilledException> failure = new AtomicReference<>();

    TaskMemoryContext(QueryMemoryContext query, TaskId taskId, boolean speculative, Instant createTime, long createNanos)
    {
        this.query = requireNonNull(query, "query is null");
        this.taskId = requireNonNull(taskId, "taskId is null");
        this.speculative = speculative;
        this.createTime = requireNonNull(createTime, "createTime is null");
        this.createNanos = createNanos;
    }

    public TaskId taskId()
    {
        return taskId;
    }

    public QueryMemoryContext query()
    {
        return query;
    }

    public boolean isSpeculative()
    {
        return speculative;
    }

    public Instant createTime()
    {
        return createTime;
    }

    /** How long ago the task was created: the work lost if it is killed. */
    public Duration elapsed()
    {
        return Duration.ofNanos(Math.max(0, System.nanoTime() - createNanos));
    }

    /** Adds an operator that holds memory under {@code tag}. */
    public OperatorMemoryContext addOperator(String tag)
    {
        requireNonNull(tag, "tag is null");
        if (closed.get()) {
            throw new IllegalStateException("task memory context " + taskId + " is already closed");
        }
        checkNotFailed();
        OperatorMemoryContext operator = new OperatorMemoryContext(this, tag);
        operators.add(operator);
        return operator;
    }

    public long userBytes()
    {
        return userBytes.get();
    }

    public long systemBytes()
    {
        return systemBytes.get();
    }

    public long revocableBytes()
    {
        return revocableBytes.get();
    }

    public List<OperatorMemoryContext> operators()
    {
        return List.copyOf(operators);
    }

    public boolean isClosed()
    {
        return closed.get();
    }

    MemoryFuture update(MemoryKind kind, String tag, long delta)
    {
        if (delta < 0) {
            release(kind, tag, -delta);
            return MemoryFuture.NOT_BLOCKED;
        }
        MemoryFuture future = query.reserve(taskId, kind, tag, delta);
        long held = counter(kind).addAndGet(delta);
        if (kind == MemoryKind.USER && held <= GUARANTEED_BYTES) {
            return MemoryFuture.NOT_BLOCKED;
        }
        return future;
    }

    boolean tryUpdate(MemoryKind kind, String tag, long delta)
    {
        if (!query.tryReserve(taskId, kind, tag, delta)) {
            return false;
        }
        counter(kind).addAndGet(delta);
        return true;
    }

    void release(MemoryKind kind, String tag, long bytes)
    {
        query.release(taskId, kind, tag, bytes);
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

    void operatorClosed(OperatorMemoryContext operator)
    {
        operators.remove(operator);
    }

    void forceRelease()
    {
        for (OperatorMemoryContext operator : operators) {
            operator.forceRelease();
        }
    }

    /**
     * Fails this task alone (a task killer chose it): later accounting calls of its operators throw with
     * {@code errorCode}, and everything it holds is released now. The first failure is kept.
     *
     * @return true if this call failed the task
     */
    public boolean fail(ErrorCode errorCode, String message)
    {
        if (!failure.compareAndSet(null, new QueryKilledException(errorCode, message))) {
            return false;
        }
        forceRelease();
        return true;
    }

    /** True once the task or its query was killed; the revoking scheduler no longer asks its operators. */
    public boolean isFailed()
    {
        return failure.get() != null || query.failure().isPresent();
    }

    /** Throws the reason the task or its query was killed, if it was. */
    void checkNotFailed()
    {
        query.checkNotFailed();
        QueryKilledException killed = failure.get();
        if (killed != null) {
            throw new QueryKilledException(killed.errorCode(), killed.getMessage());
        }
    }

    /** Closes every operator, releasing everything the task holds. Idempotent. */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (OperatorMemoryContext operator : operators) {
            operator.close();
        }
        query.taskClosed(this);
    }

    @Override
    public String toString()
    {
        return "TaskMemoryContext{" + taskId + ", user=" + userBytes + ", system=" + systemBytes + ", revocable=" + revocableBytes + "}";
    }
}
