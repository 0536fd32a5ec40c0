package io.memgov.plugin.blockednodes;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Query killer {@code total-reservation-on-blocked-nodes}, Trino's default. Adds up, per query, the user bytes that
 * the general pools of <em>blocked</em> nodes hold for it, and kills the query with the largest sum: the one whose
 * death unblocks the most memory where memory is short, rather than the largest query overall.
 *
 * <ul>
 *   <li>Running queries with {@link RetryPolicy#TASK} are skipped: their tasks are the task killer's to pick, and
 *       killing such a query whole would throw away retryable work.</li>
 *   <li>Ids the pools hold but the running list does not (a query that just ended) are still summed; if such an id
 *       has the largest sum, nothing is killed this round, because its memory is about to be freed anyway.</li>
 *   <li>A sum must be positive to be chosen. Equal sums go to the smaller query id, so the choice does not depend on
 *       the order of the pools' maps.</li>
 * </ul>
 * Stateless.
 */
final class TotalReservationOnBlockedNodesQueryLowMemoryKiller
        implements LowMemoryKiller
{
    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        Set<QueryId> running = new HashSet<>();
        Set<QueryId> taskRetry = new HashSet<>();
        for (RunningQueryInfo query : runningQueries) {
            running.add(query.queryId());
            if (query.retryPolicy() == RetryPolicy.TASK) {
                taskRetry.add(query.queryId());
            }
        }

        Map<QueryId, Long> bytesOnBlockedNodes = new HashMap<>();
        for (NodeMemoryInfo node : nodes) {
            if (!node.isBlocked()) {
                continue;
            }
            // the general pool, the direct pool, or both: whichever blocks the node offers the queries holding it
            for (MemoryPoolInfo pool : node.blockedPools()) {
                pool.queryMemoryReservations().forEach((queryId, bytes) -> {
                    if (!taskRetry.contains(queryId)) {
                        bytesOnBlockedNodes.merge(queryId, bytes, Long::sum);
                    }
                });
            }
        }

        QueryId biggest = null;
        long biggestBytes = 0;
        for (Map.Entry<QueryId, Long> entry : bytesOnBlockedNodes.entrySet()) {
            long bytes = entry.getValue();
            if (bytes > biggestBytes || (bytes == biggestBytes && biggest != null && entry.getKey().compareTo(biggest) < 0)) {
                biggest = entry.getKey();
                biggestBytes = bytes;
            }
        }
        if (biggest == null || !running.contains(biggest)) {
            return Optional.empty();
        }
        return Optional.of(KillTarget.wholeQuery(biggest));
    }
}
