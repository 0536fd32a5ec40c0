package io.memgov.spi.killer;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;

import java.util.List;
import java.util.Optional;

/**
 * Chooses what to kill when the cluster is out of memory. The contract third parties write against; shaped like
 * Trino's.
 *
 * <p><b>Who calls.</b> The cluster loop, on its single thread, when some node is blocked, no query was killed in
 * the current round and the previous target no longer holds memory (or was flagged as leaked). The task killer is
 * asked first; the query killer only if the task killer chose nothing.
 *
 * <p><b>Contract.</b> Must not block and should return in well under a millisecond per hundred queries. May be
 * stateful but is only ever called from one thread at a time. A killer that throws, or that names a query or task
 * that is not running, is logged and skipped for that round; the loop goes on.
 *
 * @since 1.0
 */
@FunctionalInterface
public interface LowMemoryKiller
{
    /** Kills nothing: what the engine uses when no killer is configured and the default is not on the class path. */
    LowMemoryKiller NONE = new LowMemoryKiller()
    {
        @Override
        public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
        {
            return Optional.empty();
        }

        @Override
        public String toString()
        {
            return "none";
        }
    };

    /**
     * Called by the cluster loop when the cluster is out of memory and no earlier target still holds memory.
     *
     * @param runningQueries the queries that are running, with their tasks; never null, may be empty, unmodifiable
     * @param nodes every node's last snapshot; never null, unmodifiable
     * @return the target to kill, or empty to kill nothing this round
     */
    Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes);
}
