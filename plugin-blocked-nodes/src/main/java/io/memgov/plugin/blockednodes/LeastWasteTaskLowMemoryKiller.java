package io.memgov.plugin.blockednodes;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.query.RetryPolicy;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Task killer {@code least-waste}, Trino's {@code LEAST_WASTE} (trino#11952): like
 * {@link TotalReservationOnBlockedNodesTaskLowMemoryKiller}, one task of a {@link RetryPolicy#TASK} query per blocked
 * node, speculative tasks first, but the task chosen is the one with the most bytes per second of work that killing
 * it throws away: {@code reservedBytes / max(executionTime, 30s)}. The 30-second floor makes young tasks compete on
 * memory alone, so a task that has just started is not killed merely for being young. The execution time is the one
 * the running query reports for the task ({@link TaskMemoryInfo#executionTime()}); a task it does not list counts as
 * young. Stateless.
 */
final class LeastWasteTaskLowMemoryKiller
        implements LowMemoryKiller
{
    static final Duration MIN_EXECUTION_TIME = Duration.ofSeconds(30);

    private static final Comparator<BlockedNodeTasks.Candidate> MOST_BYTES_PER_SECOND_LOST = Comparator.comparingDouble(LeastWasteTaskLowMemoryKiller::bytesPerMilliLost);

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        return BlockedNodeTasks.choose(runningQueries, nodes, MOST_BYTES_PER_SECOND_LOST);
    }

    private static double bytesPerMilliLost(BlockedNodeTasks.Candidate candidate)
    {
        Duration executionTime = candidate.executionTime().compareTo(MIN_EXECUTION_TIME) < 0 ? MIN_EXECUTION_TIME : candidate.executionTime();
        return (double) candidate.reservedBytes() / executionTime.toMillis();
    }
}
