package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.TaskId;

import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * The part of a query that runs on one node. Holds the task's operators; user memory up to {@link #GUARANTEED_BYTES}
 * never blocks, so that every task can make progress (Trino's 1 MB guarantee).
 *
 * <p><b>Forgotten tasks.</b> The context {@link QueryContext#addTask} returns is the host's handle, watched by a
 * {@link java.lang.ref.Cleaner}: if it becomes unreachable without {@link #close()} (and so do all its operators, each
 * of which keeps it reachable, and its {@linkplain #localMemory() own memory context}), the task is closed as
 * {@code close()} would, a WARN line names the query, the task and the tags of the operators it released, and the
 * node's leak detector is told through {@link io.memgov.spi.leak.MemoryLeakDetector#contextCollected}. The host's
 * handle keeps its query's handle reachable ({@link #query()} returns it), so a host that keeps a task keeps its query;
 * a task collected together with its query is released and reported by the query's action instead. The contexts listed
 * by {@link QueryContext#tasks()} are the query's views of the same tasks: they work alike, are
 * {@linkplain #equals equal} to the host's handle, but do not keep it reachable.
 */
public final class TaskContext
        implements TaskMemoryContext
{
    /** User memory a task may hold before a full pool makes it wait. */
    public static final long GUARANTEED_BYTES = TaskMemoryContext.GUARANTEED_BYTES;

    private final TaskState state;
    // the host's handle of the task holds the host's handle of the query, so that a live task keeps its query alive; a
    // view holds a view of the query
    private final QueryContext query;
    // null for a view; the host's handle is registered with the cleaner
    private final Cleaner.Cleanable cleanable;
    // the host's handle's context over the task's own memory, which keeps the handle reachable; null for a view
    private final LocalMemoryHandle localMemory;

    private TaskContext(TaskState state, QueryContext query, boolean hostHandle)
    {
        this.state = requireNonNull(state, "state is null");
        this.query = requireNonNull(query, "query is null");
        if (hostHandle) {
            state.hostHandle.attach(new WeakReference<>(this), "task " + state.taskId);
            // the action references the state only, never this handle
            this.cleanable = ContextCleaner.register(this, state::collected);
            this.localMemory = new LocalMemoryHandle(this, state.localMemory);
        }
        else {
            this.cleanable = null;
            this.localMemory = null;
        }
    }

    /**
     * The handle the host gets for a new task, watched by the cleaner; called once per task by its query.
     *
     * @param query the query handle the task's handle keeps alive: the host's handle of the query
     */
    static TaskContext hostHandle(TaskState state, QueryContext query)
    {
        return new TaskContext(state, query, true);
    }

    /** A view of the task, listed by its query: it works like the handle but does not keep it reachable. */
    static TaskContext view(TaskState state, QueryContext queryView)
    {
        return new TaskContext(state, queryView, false);
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
     * reachable); on a view listed by {@link QueryContext#tasks()}, a view of the query.
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
     * Adds an operator that holds memory under {@code tag}. The operator's handle keeps the task's handle reachable,
     * even when the operator is added through a view.
     *
     * @throws IllegalStateException if the task is closed
     */
    public OperatorContext addOperator(String tag)
    {
        return addOperator(tag, false);
    }

    /**
     * Adds an operator whose user memory is a broadcast: the replicated build side of a join, which every node holds
     * in full. Its user memory counts toward the query's user limits as any operator's does and also toward
     * {@code query.max-broadcast-memory} (Presto's per-node broadcast limit). Otherwise as {@link #addOperator}.
     *
     * @throws IllegalStateException if the task is closed
     */
    public OperatorContext addBroadcastOperator(String tag)
    {
        return addOperator(tag, true);
    }

    private OperatorContext addOperator(String tag, boolean broadcast)
    {
        requireNonNull(tag, "tag is null");
        // before the operator is added: a task being collected refuses it without leaving it in the task
        TaskContext parent = hostHandle();
        return new OperatorContext(parent, state.addOperator(tag, broadcast));
    }

    /**
     * The host's handle of this task: this one, or the one this view is of.
     *
     * @throws IllegalStateException if the host's handle was collected (the task is being released)
     */
    private TaskContext hostHandle()
    {
        if (cleanable != null) {
            return this;
        }
        TaskContext handle = (TaskContext) state.hostHandle.get();
        if (handle == null) {
            throw new IllegalStateException("task memory context " + state.taskId + " is already closed: it was garbage-collected");
        }
        return handle;
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
        return List.copyOf(operatorContexts());
    }

    /** {@link #operators()}, as the engine's own type. */
    public List<OperatorContext> operatorContexts()
    {
        List<OperatorState> operators = state.operators();
        List<OperatorContext> alive = new ArrayList<>(operators.size());
        for (OperatorState operator : operators) {
            OperatorContext handle = (OperatorContext) operator.hostHandle.get();
            if (handle != null) {
                alive.add(handle);
            }
        }
        return List.copyOf(alive);
    }

    /**
     * The task's own memory: see {@link TaskMemoryContext#localMemory()}. On a view, the host's handle's context.
     *
     * @throws IllegalStateException on a view, if the host's handle was collected (the task is being released)
     */
    @Override
    public LocalMemoryContext localMemory()
    {
        return cleanable != null ? localMemory : hostHandle().localMemory;
    }

    public boolean isClosed()
    {
        return state.isClosed();
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

    /** True for every view of the same task: the host's handle and the query's views. */
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
        return state.toString();
    }
}
