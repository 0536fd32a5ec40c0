package io.memgov.engine.internal.node;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.TaskId;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * The part of a query that runs on one node. Holds the task's operators; user memory up to
 * {@link #GUARANTEED_BYTES} never blocks, so that every task can make progress (Trino's 1 MB guarantee).
 *
 * <p><b>Forgotten tasks.</b> The context {@link QueryContext#addTask} returns is the host's handle, watched by a
 * {@link java.lang.ref.Cleaner}: if it becomes unreachable without {@link #close()} (and so do all its operators,
 * each of which keeps it reachable), the task is closed as {@code close()} would, a WARN line names the query, the
 * task and the tags of the operators it released, and the node's leak detector is told through
 * {@link io.memgov.spi.leak.MemoryLeakDetector#contextCollected}. The host's handle keeps its query's handle
 * reachable ({@link #query()} returns it), so a host that keeps a task keeps its query; a task collected together
 * with its query is released and reported by the query's action instead. The contexts listed by
 * {@link QueryContext#tasks()} are the query's own views of the same tasks: they work alike, are
 * {@linkplain #equals equal} to the host's handle, but do not keep it reachable.
 */
public final class TaskContext
        implements TaskMemoryContext
{
    /** User memory a task may hold before a full pool makes it wait. */
    public static final long GUARANTEED_BYTES = 1024 * 1024;

    private final TaskState state;
    // the query's view for the query's own view of the task; for the host's handle, the query's handle, held strongly
    // so that a live task keeps its query's handle alive
    private final QueryContext query;
    // null for the query's view; the host's handle is registered with the cleaner
    private final Cleaner.Cleanable cleanable;

    /** The query's view of a new task. */
    TaskContext(QueryContextState query, TaskId taskId, boolean speculative, Instant createTime, long createNanos)
    {
        this.state = new TaskState(query, taskId, speculative, createTime, createNanos, this);
        this.query = query.view;
        this.cleanable = null;
    }

    private TaskContext(TaskState state, QueryContext query)
    {
        this.state = state;
        this.query = requireNonNull(query, "query is null");
        state.attachHostHandle(this);
        // the action references the state only, never this handle
        this.cleanable = ContextCleaner.register(this, state::collected);
    }

    /**
     * The handle the host gets for this task, watched by the cleaner; called once by the query when it adds the task,
     * on the query's view.
     *
     * @param query the query handle the task's handle keeps alive: the host's handle of the query
     * @throws IllegalStateException if the task already has a host handle
     */
    TaskContext hostHandle(QueryContext query)
    {
        return new TaskContext(state, query);
    }

    TaskState state()
    {
        return state;
    }

    public TaskId taskId()
    {
        return state.taskId;
    }

    /**
     * The task's query: on the host's handle of the task, the host's handle of the query (which this handle keeps
     * reachable); on a view listed by {@link QueryContext#tasks()}, the query's view.
     */
    public QueryContext query()
    {
        return query;
    }

    public boolean isSpeculative()
    {
        return state.speculative;
    }

    public Instant createTime()
    {
        return state.createTime;
    }

    /** How long ago the task was created: the work lost if it is killed. */
    public Duration elapsed()
    {
        return Duration.ofNanos(Math.max(0, System.nanoTime() - state.createNanos));
    }

    /**
     * Adds an operator that holds memory under {@code tag}. The operator's handle keeps the task's handle reachable.
     *
     * @throws IllegalStateException if the task is closed
     */
    public OperatorContext addOperator(String tag)
    {
        return state.addOperator(tag);
    }

    public long userBytes()
    {
        return state.userBytes.get();
    }

    public long systemBytes()
    {
        return state.systemBytes.get();
    }

    public long revocableBytes()
    {
        return state.revocableBytes.get();
    }

    /** The operators not closed whose handles are still reachable. */
    public List<OperatorMemoryContext> operators()
    {
        return List.copyOf(state.operators());
    }

    /** {@link #operators()}, as the engine's own type. */
    public List<OperatorContext> operatorContexts()
    {
        return state.operators();
    }

    public boolean isClosed()
    {
        return state.isClosed();
    }

    void forceRelease()
    {
        state.forceRelease();
    }

    /** The query's cleaner action closes the task: see {@link TaskState#closeCollected}. */
    long closeCollected(Set<String> tags)
    {
        return state.closeCollected(tags);
    }

    /**
     * Fails this task alone (a task killer chose it): later accounting calls of its operators throw with
     * {@code errorCode}, and everything it holds is released now. The first failure is kept.
     *
     * @return true if this call failed the task
     */
    public boolean fail(ErrorCode errorCode, String message)
    {
        return state.fail(errorCode, message);
    }

    /** True once the task or its query was killed; the revoking scheduler no longer asks its operators. */
    public boolean isFailed()
    {
        return state.isFailed();
    }

    /** Throws the reason the task or its query was killed, if it was. */
    void checkNotFailed()
    {
        state.checkNotFailed();
    }

    /** Closes every operator, releasing everything the task holds. Idempotent. */
    @Override
    public void close()
    {
        state.close();
        if (cleanable != null) {
            // runs the cleaner's action now, which finds the task closed, and drops the registration
            cleanable.clean();
        }
    }

    /** True for every view of the same task: the host's handle and the query's view. */
    @Override
    public boolean equals(Object other)
    {
        return other instanceof TaskContext task && task.state == state;
    }

    @Override
    public int hashCode()
    {
        return System.identityHashCode(state);
    }

    @Override
    public String toString()
    {
        return "TaskContext{" + state.taskId + ", user=" + state.userBytes + ", system=" + state.systemBytes + ", revocable=" + state.revocableBytes + "}";
    }
}
