package io.memgov.plugin.totalreservation;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;

import java.util.List;
import java.util.Optional;

/**
 * Kills the running query with the largest {@link RunningQueryInfo#totalReservationBytes() total reservation}
 * (user plus revocable bytes over all nodes), wherever that memory is. As in Trino, the comparison is a strict
 * {@code >} starting from zero: a query holding nothing is never chosen, and among equal reservations the one that
 * comes first in the list wins. The nodes are not looked at, and retry policies are not considered (a TASK-retry
 * query may be killed whole). Stateless.
 */
final class TotalReservationLowMemoryKiller
        implements LowMemoryKiller
{
    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        RunningQueryInfo biggest = null;
        long biggestBytes = 0;
        for (RunningQueryInfo query : runningQueries) {
            if (query.totalReservationBytes() > biggestBytes) {
                biggest = query;
                biggestBytes = query.totalReservationBytes();
            }
        }
        return Optional.ofNullable(biggest).map(query -> KillTarget.wholeQuery(query.queryId()));
    }
}
