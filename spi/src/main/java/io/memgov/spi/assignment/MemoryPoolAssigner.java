package io.memgov.spi.assignment;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.query.QueryId;

import java.util.List;
import java.util.Map;

/**
 * The cluster-side half of a pool layout with several pools per node: decides which pool each query runs in, when
 * the cluster is out of memory, and which pools the low-memory killers are shown. Created once per engine by a
 * {@link MemoryPoolAssignerFactory}; policies with a single pool per node have none, and the engine then behaves as
 * {@link #NONE} does.
 *
 * <p><b>Threads.</b> Every method is called only by the cluster loop, one round at a time, so implementations may
 * keep state without locking. None may block.
 *
 * @since 1.0
 */
@Experimental
public interface MemoryPoolAssigner
{
    /** Never moves a query; out of memory means some node's general pool is blocked; killers see every pool. */
    MemoryPoolAssigner NONE = (nodes, runningQueries, current) -> current.placements();

    /**
     * Decides the placements of the next assignment version. Called once per round, after the limits and the
     * killers, and only when every node has applied the current version: an assigner never decides on nodes that
     * have not yet seen its previous decision.
     *
     * @param nodes every node as read this round, all pools included; never null
     * @param runningQueries the running queries, with totals over all pools; never null
     * @param current the assignment in force, with queries that are no longer running left out; never null
     * @return the pool id of every query that must not run in the general pool; returning
     *         {@code current.placements()} (or an equal map) changes nothing, any other map becomes the next version.
     *         Every pool id must exist on every node.
     */
    Map<QueryId, String> assign(List<NodeMemoryInfo> nodes, List<RunningQueryInfo> runningQueries, MemoryPoolAssignment current);

    /**
     * Whether the cluster is out of memory this round: the low-memory killers run, and {@code resource_overcommit}
     * queries are killed, only then. The default is Trino's rule: some node's general pool is blocked.
     *
     * @param nodes every node as read this round; never null
     * @param current the assignment in force, with queries that are no longer running left out; never null
     */
    default boolean isOutOfMemory(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current)
    {
        return nodes.stream().anyMatch(NodeMemoryInfo::isBlocked);
    }

    /**
     * Whether the killers are shown this pool. The engine hands the killers each node with the visible pools only
     * (the general pool is always shown) and only the running queries placed in a visible pool. The default shows
     * every pool.
     *
     * @param poolId a pool id of the layout; never null
     */
    default boolean isVisibleToKillers(String poolId)
    {
        return true;
    }
}
