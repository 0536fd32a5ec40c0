package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;

import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A query on one node: enforces its per-node limits, carries its deltas through the tracker into the pool, and
 * releases everything when closed or killed.
 *
 * <p>Every reservation path is lock-free: a limit is checked by adding first and undoing on failure, so two tasks
 * of the query racing for the last bytes cannot both pass.
 *
 * <p><b>Forgotten queries.</b> The context {@link NodeMemoryManager#createQuery} returns is the host's handle, watched
 * by a {@link java.lang.ref.Cleaner}: if it becomes unreachable without {@link #close()}, the query is closed as
 * {@code close()} would (every task and operator still open is closed, everything is released, its tracker is closed
 * and the node forgets it), one WARN line names the query, the node, the bytes released and the first few tasks with
 * the tags of their operators, and the node's leak detector is told through
 * {@link io.memgov.spi.leak.MemoryLeakDetector#contextCollected} (with a null task and tag). A query that was
 * {@linkplain #fail killed} but not closed is still caught. The handle is kept reachable by the host's references to
 * it and to anything of the query the host holds: a task handle {@link #addTask} returned (its
 * {@link TaskContext#query()} is this handle), an operator handle (it holds its task's handle), an operator's
 * {@link LocalMemoryContext}, its registered {@link io.memgov.spi.spill.RevocableConsumer}, the query's or a task's
 * own memory context ({@code localMemory()}) and a
 * {@link Revocation} of it. Tasks and operators collected together with the query are released and reported
 * by the query's action, except operators whose own actions run first, which report themselves: each byte is
 * reported once. What {@link #tracker()}, {@link #session()}, {@link #pool()} and {@link #failure()} return does not
 * keep the query: those are no handles for releasing its memory. The contexts {@link NodeMemoryManager#queries()} and
 * {@link NodeMemoryManager#query} return, and the tasks' views {@link #tasks()} lists, are the node's views of the
 * same query: they work alike, are {@linkplain #equals equal} to the host's handle, but do not keep it reachable.
 */
public final class QueryContext
        implements QueryMemoryContext
{
    // tasks and operators reach the state through their own states, never through a handle
    private final QueryContextState state;
    private final NodeMemoryManager node;
    // null for a view; the host's handle is registered with the cleaner
    private final Cleaner.Cleanable cleanable;
    // the host's handle's context over the query's own memory, which keeps the handle reachable; null for a view
    private final LocalMemoryHandle localMemory;

    private QueryContext(QueryContextState state, NodeMemoryManager node, boolean hostHandle)
    {
        this.state = requireNonNull(state, "state is null");
        this.node = requireNonNull(node, "node is null");
        if (hostHandle) {
            state.hostHandle.attach(new WeakReference<>(this), "query " + state.queryId() + " on node " + state.node().nodeId);
            // the action references the state only, never this handle
            this.cleanable = ContextCleaner.register(this, state::collected);
            this.localMemory = new LocalMemoryHandle(this, state.localMemory);
        }
        else {
            this.cleanable = null;
            this.localMemory = null;
        }
    }

    /** The handle the host gets for a new query, watched by the cleaner; called once per query by its node. */
    static QueryContext hostHandle(QueryContextState state, NodeMemoryManager node)
    {
        return new QueryContext(state, node, true);
    }

    /** A view of the query, which the node lists: it works like the handle but does not keep it reachable. */
    static QueryContext view(QueryContextState state, NodeMemoryManager node)
    {
        return new QueryContext(state, node, false);
    }

    /** The accounting state every handle and view of this query shares. */
    QueryContextState state()
    {
        return state;
    }

    public QueryId queryId()
    {
        return state.queryId();
    }

    public QuerySession session()
    {
        return state.session();
    }

    public NodeMemoryManager node()
    {
        return node;
    }

    public Instant startTime()
    {
        return state.startTime();
    }

    /** The per-node user memory limit in force for this query (configuration lowered by the session). */
    public long maxUserBytes()
    {
        return state.maxUserBytes();
    }

    /** The per-node user+system limit, or {@link Long#MAX_VALUE} when none is configured. */
    public long maxTotalBytes()
    {
        return state.maxTotalBytes();
    }

    /**
     * Adds a task of this query on this node. The task's handle keeps the query's handle reachable.
     *
     * @throws IllegalStateException if the query is closed
     */
    public TaskContext addTask(String localId)
    {
        return addTask(TaskId.of(state.queryId(), localId), false);
    }

    /**
     * Adds a task of this query on this node. The task's handle keeps the query's handle reachable, even when the task
     * is added through one of the node's views.
     *
     * @param speculative true for optional work that task killers should prefer
     * @throws IllegalArgumentException if the task belongs to another query or already exists
     * @throws IllegalStateException if the query is closed
     */
    public TaskContext addTask(TaskId taskId, boolean speculative)
    {
        state.checkTaskAddable(taskId);
        // before the task is added: a query being collected refuses it without leaving it in the query
        QueryContext parent = hostHandle();
        return TaskContext.hostHandle(state.addTask(taskId, speculative), parent);
    }

    /**
     * The host's handle of this query: this one, or the one this view is of.
     *
     * @throws IllegalStateException if the host's handle was collected (the query is being released)
     */
    private QueryContext hostHandle()
    {
        if (cleanable != null) {
            return this;
        }
        QueryContext handle = (QueryContext) state.hostHandle.get();
        if (handle == null) {
            throw new IllegalStateException("query memory context " + state.queryId() + " is already closed on node " + state.node().nodeId + ": it was garbage-collected");
        }
        return handle;
    }

    /** The query's views of its tasks not closed; they do not keep the tasks' handles, nor this query's, reachable. */
    public List<TaskMemoryContext> tasks()
    {
        return List.copyOf(taskContexts());
    }

    /** {@link #tasks()}, as the engine's own type. */
    public List<TaskContext> taskContexts()
    {
        // a view's tasks name the view as their query; the host's handle's tasks a view of it, never the handle itself
        QueryContext queryView = cleanable == null ? this : view(state, node);
        List<TaskState> tasks = state.tasks();
        List<TaskContext> views = new ArrayList<>(tasks.size());
        for (TaskState task : tasks) {
            views.add(TaskContext.view(task, queryView));
        }
        return List.copyOf(views);
    }

    public long userBytes()
    {
        return state.userBytes();
    }

    public long systemBytes()
    {
        return state.systemBytes();
    }

    public long revocableBytes()
    {
        return state.revocableBytes();
    }

    /** Direct bytes the query holds in the node's direct pool; 0 when the node has none (its direct memory is user memory then). */
    public long directBytes()
    {
        return state.directBytes();
    }

    /** Revocable direct bytes the query holds in the node's direct pool; 0 when the node has none (they are revocable memory then). */
    public long directRevocableBytes()
    {
        return state.directRevocableBytes();
    }

    /** {@code query.max-direct-memory-per-node} in force for this query; {@link Long#MAX_VALUE} without a direct pool or limit. */
    public long maxDirectBytes()
    {
        return state.maxDirectBytes();
    }

    /** The most user + system + revocable bytes the query held at once on this node. */
    public long peakBytes()
    {
        return state.peakBytes();
    }

    public double cumulativeUserMemoryByteSeconds()
    {
        return state.cumulativeMemory().userByteSeconds();
    }

    public double cumulativeTotalMemoryByteSeconds()
    {
        return state.cumulativeMemory().totalByteSeconds();
    }

    public MemoryTracker tracker()
    {
        return state.tracker();
    }

    /** The pool the query reserves in on this node now: the node's general pool unless an assignment moved it. */
    public MemoryPool pool()
    {
        return state.pool();
    }

    /**
     * Moves everything the query holds on this node to {@code target}: see {@link QueryPoolRouting#moveTo}.
     *
     * @throws IllegalStateException if the node has a single pool
     */
    void moveTo(MemoryPool target)
    {
        state.moveTo(target);
    }

    /** The query's largest user-memory holders on this node by tag, largest first. */
    public Map<String, Long> topConsumers(int limit)
    {
        return state.topConsumers(limit);
    }

    /** Reports that a client fetched results: see {@link QueryMemoryContext#resultsFetched()}. */
    @Override
    public void resultsFetched()
    {
        state.resultsFetched();
    }

    /** Throws the reason the query was killed, if it was. */
    public void checkNotFailed()
    {
        state.checkNotFailed();
    }

    /** Why the query was killed on this node, if it was. */
    public Optional<QueryKilledException> failure()
    {
        return state.failure();
    }

    /**
     * Fails the query on this node: later accounting calls throw with {@code errorCode}, and everything it holds is
     * released now. The first failure is kept. A killed query is not closed: the host still closes it.
     *
     * @return true if this call failed the query, false if it had already failed
     */
    public boolean fail(ErrorCode errorCode, String message)
    {
        return state.fail(errorCode, message);
    }

    /**
     * The query's own memory: see {@link QueryMemoryContext#localMemory()}. On a view, the host's handle's context.
     *
     * @throws IllegalStateException on a view, if the host's handle was collected (the query is being released)
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

    /** Closes every task, releasing everything the query holds on this node. Idempotent. */
    @Override
    public void close()
    {
        closeQuery(null);
    }

    /**
     * Closes the query on this node, releasing everything it holds here, and reports that the query ended with
     * {@code finalState}: the cluster loop stops enforcing its limits and offering it to killers, and the leak
     * detector judges any memory it still holds anywhere after its grace period. Call it once per query, on the
     * context closed last (or on every node: the first end reported counts); {@link #close()} closes this node's
     * part only. Idempotent: a context already closed stays closed and reports nothing.
     *
     * @param finalState {@link QueryState#FINISHED} or {@link QueryState#FAILED}
     * @throws IllegalArgumentException if {@code finalState} is {@link QueryState#RUNNING}
     */
    public void close(QueryState finalState)
    {
        requireNonNull(finalState, "finalState is null");
        closeQuery(finalState);
    }

    private void closeQuery(QueryState finalState)
    {
        state.close(finalState);
        if (cleanable != null) {
            // runs the cleaner's action now, which finds the query closed, and drops the registration
            cleanable.clean();
        }
    }

    /** True for every view of the same query: the host's handle and the node's views. */
    @Override
    public boolean equals(Object other)
    {
        return other instanceof QueryContext query && query.state == state;
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
