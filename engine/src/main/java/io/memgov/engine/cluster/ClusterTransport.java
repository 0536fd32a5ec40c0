package io.memgov.engine.cluster;

import io.memgov.spi.assignment.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the cluster loop reads the nodes and delivers its decisions. The embedded cluster reads its nodes in memory; a
 * multi-process cluster would poll each worker's {@code /v1/memory} and send kills over its own transport.
 * Called only from the cluster loop's thread.
 */
public interface ClusterTransport
{
    /** The latest snapshot of every node; a node that cannot be read keeps its previous snapshot. */
    List<NodeMemoryInfo> readNodes();

    /** The queries that are running, with their tasks and per-task reservations from {@code nodes}. */
    List<RunningQueryInfo> runningQueries(List<NodeMemoryInfo> nodes);

    /** Fails the query on every node, releasing what it holds, and tells the host. */
    boolean killQuery(QueryId queryId, ErrorCode errorCode, String message);

    /** Fails these tasks on their nodes, releasing what they hold, and tells the host. */
    boolean killTasks(Set<TaskId> taskIds, ErrorCode errorCode, String message);

    /**
     * Sends a pool assignment to every node (Presto POSTs it to each worker's {@code /v1/memory}); each node applies
     * it unless it already applied a newer or equal version. Only layouts with several pools per node produce
     * assignments, so a transport for single-pool clusters need not implement this.
     *
     * @return the version each reached node has applied now; nodes that could not be reached are left out
     */
    default Map<NodeId, Long> assignPools(MemoryPoolAssignment assignment)
    {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot deliver memory pool assignments");
    }
}
