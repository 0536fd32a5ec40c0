package io.memgov.engine;

import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A query on one node: enforces its per-node limits, carries its deltas through the tracker into the pool, and
 * releases everything when closed or killed.
 *
 * <p>Every reservation path is lock-free: a limit is checked by adding first and undoing on failure, so two tasks
 * of the query racing for the last bytes cannot both pass.
 *
 * <p><b>Forgotten queries.</b> The context {@link NodeMemory#createQuery} returns is the host's handle, watched
 * by a {@link java.lang.ref.Cleaner}: if it becomes unreachable without {@link #close()}, the query is closed as
 * {@code close()} would (every task and operator still open is closed, everything is released, its tracker is closed
 * and the node forgets it), one WARN line names the query, the node, the bytes released and the first few tasks with
 * the tags of their operators, and the node's leak detector is told through
 * {@link io.memgov.spi.leak.MemoryLeakDetector#contextCollected} (with a null task and tag). A query that was
 * {@linkplain #fail killed} but not closed is still caught. The handle is kept reachable by the host's references to
 * it and to anything of the query the host holds: a task handle {@link #addTask} returned (its
 * {@link TaskMemoryContext#query()} is this handle), an operator handle (it holds its task's handle), an operator's
 * {@link LocalMemoryContext}, its registered {@link io.memgov.spi.spill.RevocableConsumer}, the query's or a task's
 * own memory context ({@code localMemory()}) and a
 * {@link MemoryRevocation} of it. Tasks and operators collected together with the query are released and reported
 * by the query's action, except operators whose own actions run first, which report themselves: each byte is
 * reported once. What {@link #tracker()}, {@link #session()}, {@link #pool()} and {@link #failure()} return does not
 * keep the query: those are no handles for releasing its memory. The contexts {@link NodeMemory#queries()} and
 * {@link NodeMemory#query} return, and the tasks' views {@link #tasks()} lists, are the node's views of the
 * same query: they work alike, are {@linkplain #equals equal} to the host's handle, but do not keep it reachable.
 */
public interface QueryMemoryContext
        extends AutoCloseable
{
    QueryId queryId();

    QuerySession session();

    NodeMemory node();

    Instant startTime();

    /** The per-node user memory limit in force for this query (configuration lowered by the session). */
    long maxUserBytes();

    /** The per-node user+system limit, or {@link Long#MAX_VALUE} when none is configured. */
    long maxTotalBytes();

    /**
     * Adds a task of this query on this node. The task's handle keeps the query's handle reachable.
     *
     * @throws IllegalStateException if the query is closed
     */
    TaskMemoryContext addTask(String localId);

    /**
     * Adds a task of this query on this node. The task's handle keeps the query's handle reachable, even when the task
     * is added through one of the node's views.
     *
     * @param speculative true for optional work that task killers should prefer
     * @throws IllegalArgumentException if the task belongs to another query or already exists
     * @throws IllegalStateException if the query is closed
     */
    TaskMemoryContext addTask(TaskId taskId, boolean speculative);

    /** The query's views of its tasks not closed; they do not keep the tasks' handles, nor this query's, reachable. */
    List<TaskMemoryContext> tasks();

    long userBytes();

    long systemBytes();

    long revocableBytes();

    /** The most user + system + revocable bytes the query held at once on this node. */
    long peakBytes();

    /**
     * Presto's cumulative user memory: the user bytes the query held on this node integrated over time, in
     * byte-seconds, as of the node's last sample of it (each node snapshot the cluster loop or a host takes, and the
     * query's close), each period counted at the mean of the bytes at its two ends. Final once the query is closed.
     */
    double cumulativeUserMemoryByteSeconds();

    /** {@link #cumulativeUserMemoryByteSeconds()} for user plus system bytes (Presto's cumulative total memory). */
    double cumulativeTotalMemoryByteSeconds();

    MemoryTracker tracker();

    /** The pool the query reserves in on this node now: the node's general pool unless an assignment moved it. */
    MemoryPool pool();

    /** The query's largest user-memory holders on this node by tag, largest first. */
    Map<String, Long> topConsumers(int limit);

    /**
     * The query's own memory on this node: what the query holds that none of its tasks owns, such as results kept for
     * the client or a structure its tasks share. It is <em>system</em> memory, as a task's own memory is
     * ({@link TaskMemoryContext#localMemory()}): counted in this query's {@link #systemBytes()}, in its tracker and in
     * the pool, toward the query's total limit but not its user limit, and at no task. The pool keeps per-task
     * figures, so it shows this memory under the task {@code <queryId>.query-local} and the tag {@code (query-local)};
     * that task is listed by no snapshot and cannot be killed alone. Closing the query, killing it, and the cleaner
     * when the query's handle is collected release it; after that it refuses changes. The returned context keeps the
     * query's handle reachable; every call returns the same memory.
     */
    LocalMemoryContext localMemory();

    /**
     * Tells this node that a client fetched results of the query (it asked for, or was sent, a page of its output).
     * The query's pool on this node hears of it ({@link MemoryPool#queryResultsFetched}): a pool that retires idle
     * queries counts idleness from the last fetch, as TDengine's no-fetch timeout does (reserve mode's
     * {@code query-idle-timeout}); other pools ignore it. Call it on the node that serves the results (or on every
     * node whose pool should know). Cheap and thread-safe; ignored once the query is closed.
     */
    void resultsFetched();

    /** Throws the reason the query was killed, if it was. */
    void checkNotFailed();

    /** Why the query was killed on this node, if it was. */
    Optional<QueryKilledException> failure();

    /**
     * Fails the query on this node: later accounting calls throw with {@code errorCode}, and everything it holds is
     * released now. The first failure is kept. A killed query is not closed: the host still closes it.
     *
     * @return true if this call failed the query, false if it had already failed
     */
    boolean fail(ErrorCode errorCode, String message);

    boolean isClosed();

    /** Closes every task, releasing everything the query holds on this node. Idempotent. */
    void close();

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
    void close(QueryState finalState);
}
