package io.memgov.engine;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;

import java.util.List;
import java.util.Optional;

/**
 * One node's accounting: its pools, its tracker tree and the queries running on it. Hosts create a
 * {@link QueryMemoryContext} per query on each node it runs on; the contexts enforce per-node limits and feed the pool.
 * A query starts in the general pool (the layout's first) unless the cluster loop's latest
 * {@link #applyAssignment assignment} places it elsewhere. Thread-safe.
 *
 * <p>Operator, task and query contexts the host lets become unreachable without closing them are released by a
 * cleaner and reported to this node's leak detector ({@link MemoryLeakDetector#contextCollected}), if it has one. The
 * node itself holds only its views of its queries ({@link #queries()}), which do not keep the host's handles alive.
 */
public interface NodeMemory
{
    NodeId nodeId();

    /**
     * The granularity of reservations ({@code memory.reservation-quantum}, see {@link ReservationQuantum}): 0 when
     * every change reaches the pool as it is made (Trino); else each local memory context (an operator's, a task's or
     * a query's own) reserves in quanta (Velox) and changes inside its reservation reach nothing above it, and this is
     * the largest quantum any of them reserves in: the configured size, or for {@code adaptive} 8MB capped by this
     * node's share of its pool. A context holds at most two of these above its bytes.
     */
    long reservationQuantum();

    /** The general pool: the first of the layout, where queries start. */
    MemoryPool pool();

    /** Every pool of the node, the general one first. */
    List<MemoryPool> pools();

    /** The pool with this id, if the node has one. */
    Optional<MemoryPool> pool(String poolId);

    /**
     * The node's direct pool ({@code node.direct-memory-size}), if it has one: where the operators'
     * {@link OperatorMemoryContext#directMemory() direct memory} is reserved, apart from the heap pools. Empty when
     * direct memory is counted as user memory in the heap pools.
     */
    Optional<MemoryPool> directPool();

    /**
     * Starts accounting for a query on this node. Per-node limits are the configured ones, lowered by the session;
     * {@code resource_overcommit} lets the query use the whole pool, and queries with {@code retry_policy=TASK} have
     * no per-node limit (only the pool and the killers apply), as in Trino.
     *
     * @return the host's handle of the query: if it becomes unreachable without {@code close()} (with every task and
     *         operator handle of the query), the query is released and reported; see {@link QueryMemoryContext}
     * @throws IllegalArgumentException if the query already has a context on this node
     */
    QueryMemoryContext createQuery(QueryId queryId, QuerySession session);

    /** The node's view of the query, if it runs here: it does not keep the host's handle reachable. */
    Optional<QueryMemoryContext> query(QueryId queryId);

    /** The node's views of the queries running here: they do not keep the host's handles reachable. */
    List<QueryMemoryContext> queries();

    /**
     * Fails the query on this node, releasing what it holds. The first failure is kept.
     *
     * @return true if the query ran here and was failed by this call
     */
    boolean failQuery(QueryId queryId, ErrorCode errorCode, String message);

    /**
     * Fails one task on this node, releasing what it holds. The first failure is kept.
     *
     * @return true if the task ran here and was failed by this call
     */
    boolean failTask(TaskId taskId, ErrorCode errorCode, String message);

    /**
     * Everything the cluster loop reads of this node: its pools, its queries (running, failed, and recently ended) and
     * the assignment it applied. The running queries are read before the ended ones, and a query is recorded as ended
     * before it leaves the running ones, so a query ending meanwhile is listed at least once.
     */
    NodeSnapshot snapshot();

    /** The root (node level) of the node's tracker tree: ClickHouse's "total" level. */
    MemoryTracker rootTracker();

    /** The node's snapshot for the cluster loop and {@code /v1/memory}. */
    NodeMemoryInfo info();
}
