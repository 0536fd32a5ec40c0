package io.memgov.engine.node;

import io.memgov.spi.ErrorCode;
import io.memgov.spi.NodeId;
import io.memgov.spi.QueryId;
import io.memgov.spi.TaskId;
import io.memgov.spi.killer.NodeMemoryInfo;
import io.memgov.spi.killer.RetryPolicy;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * One node's accounting: its pool, its tracker tree and the queries running on it. Hosts create a
 * {@link QueryMemoryContext} per query on each node it runs on; the contexts enforce per-node limits and feed the pool.
 * Thread-safe.
 */
public final class NodeMemoryManager
{
    private final NodeId nodeId;
    private final MemoryPool pool;
    private final MemoryTracker rootTracker;
    private final Clock clock;
    private final long maxQueryMemoryPerNode;
    private final long maxQueryTotalMemoryPerNode;
    private final Map<QueryId, QueryMemoryContext> queries = new ConcurrentHashMap<>();
    private final Map<String, MemoryTracker> userTrackers = new ConcurrentHashMap<>();

    private final ClusterQueries clusterQueries;

    public NodeMemoryManager(NodeId nodeId, MemoryPool pool, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode, ClusterQueries clusterQueries)
    {
        this.clusterQueries = requireNonNull(clusterQueries, "clusterQueries is null");
        this.nodeId = requireNonNull(nodeId, "nodeId is null");
        this.pool = requireNonNull(pool, "pool is null");
        this.rootTracker = requireNonNull(rootTracker, "rootTracker is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.maxQueryMemoryPerNode = maxQueryMemoryPerNode;
        this.maxQueryTotalMemoryPerNode = maxQueryTotalMemoryPerNode;
    }

    public NodeId nodeId()
    {
        return nodeId;
    }

    public MemoryPool pool()
    {
        return pool;
    }

    public MemoryTracker rootTracker()
    {
        return rootTracker;
    }

    Clock clock()
    {
        return clock;
    }

    /**
     * Starts accounting for a query on this node. Per-node limits are the configured ones, lowered by the session;
     * {@code resource_overcommit} lets the query use the whole pool, and queries with {@code retry_policy=TASK} have
     * no per-node limit (only the pool and the killers apply), as in Trino.
     *
     * @throws IllegalArgumentException if the query already has a context on this node
     */
    public QueryMemoryContext createQuery(QueryId queryId, QuerySession session)
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(session, "session is null");
        long maxUser;
        long maxTotal;
        if (session.retryPolicy() == RetryPolicy.TASK) {
            maxUser = Long.MAX_VALUE;
            maxTotal = Long.MAX_VALUE;
        }
        else if (session.resourceOvercommit()) {
            maxUser = Math.max(pool.maxBytes(), QuerySession.lower(maxQueryMemoryPerNode, session.maxMemoryPerNode()));
            maxTotal = Long.MAX_VALUE;
        }
        else {
            maxUser = QuerySession.lower(maxQueryMemoryPerNode, session.maxMemoryPerNode());
            maxTotal = QuerySession.lower(maxQueryTotalMemoryPerNode, session.maxTotalMemoryPerNode());
        }
        MemoryTracker userTracker = userTrackers.computeIfAbsent(session.user(), user -> rootTracker.newChild(TrackerLevel.USER, user, 0));
        MemoryTracker queryTracker = userTracker.newChild(TrackerLevel.QUERY, queryId.toString(), 0);
        QueryMemoryContext query = new QueryMemoryContext(this, queryId, session, pool, queryTracker, maxUser, maxTotal, clock.instant());
        if (queries.putIfAbsent(queryId, query) != null) {
            queryTracker.close();
            throw new IllegalArgumentException("query " + queryId + " already has a memory context on node " + nodeId);
        }
        clusterQueries.started(queryId, session);
        return query;
    }

    public Optional<QueryMemoryContext> query(QueryId queryId)
    {
        return Optional.ofNullable(queries.get(queryId));
    }

    public List<QueryMemoryContext> queries()
    {
        return List.copyOf(queries.values());
    }

    /**
     * Fails the query on this node, releasing what it holds. The first failure is kept.
     *
     * @return true if the query ran here and was failed by this call
     */
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        QueryMemoryContext query = queries.get(queryId);
        return query != null && query.fail(errorCode, message);
    }

    /**
     * Fails one task on this node, releasing what it holds. The first failure is kept.
     *
     * @return true if the task ran here and was failed by this call
     */
    public boolean failTask(TaskId taskId, ErrorCode errorCode, String message)
    {
        QueryMemoryContext query = queries.get(taskId.queryId());
        if (query == null) {
            return false;
        }
        return query.tasks().stream()
                .filter(task -> task.taskId().equals(taskId))
                .findFirst()
                .map(task -> task.fail(errorCode, message))
                .orElse(false);
    }

    void queryClosed(QueryMemoryContext query)
    {
        queries.remove(query.queryId(), query);
        pool.forgetQuery(query.queryId());
    }

    /** The node's snapshot for the cluster loop and {@code /v1/memory}. */
    public NodeMemoryInfo info()
    {
        return NodeMemoryInfo.of(nodeId, pool.info());
    }

    @Override
    public String toString()
    {
        return "NodeMemoryManager{" + nodeId + ", " + pool + "}";
    }
}
