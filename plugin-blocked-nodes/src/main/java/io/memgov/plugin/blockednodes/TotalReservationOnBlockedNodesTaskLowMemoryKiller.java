package io.memgov.plugin.blockednodes;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.query.RetryPolicy;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Task killer {@code total-reservation-on-blocked-nodes}, Trino's default. Does nothing unless some running query
 * retries tasks ({@link RetryPolicy#TASK}); otherwise kills, on each blocked node, the task of such a query that holds
 * the most user memory in the node's general pool, speculative tasks first. At most one task per node, so one round
 * frees memory on every blocked node while losing as few tasks as possible. Stateless.
 */
final class TotalReservationOnBlockedNodesTaskLowMemoryKiller
        implements LowMemoryKiller
{
    private static final Comparator<BlockedNodeTasks.Candidate> LARGEST_FIRST = Comparator.comparingLong(BlockedNodeTasks.Candidate::reservedBytes);

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        return BlockedNodeTasks.choose(runningQueries, nodes, LARGEST_FIRST);
    }
}
