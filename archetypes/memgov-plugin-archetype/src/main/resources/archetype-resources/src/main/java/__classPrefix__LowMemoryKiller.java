package ${package};

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.query.NodeId;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Kills the query that has run for the shortest time among those holding at least {@code minBytes} on blocked nodes
 * (user plus revocable bytes of its tasks there): the query whose death wastes the least work while still freeing
 * memory where it is missing. Ties go to the query holding more on blocked nodes, then to the one listed first. Nothing
 * is killed when no node is blocked.
 *
 * <p>This is the template's starting point: change the choice, keep the contract (the tests check it). Stateless; the
 * cluster loop calls it on its own thread, one call at a time, and it must not block.
 */
final class ${classPrefix}LowMemoryKiller
        implements LowMemoryKiller
{
    private final long minBytes;

    ${classPrefix}LowMemoryKiller(long minBytes)
    {
        if (minBytes < 1) {
            throw new IllegalArgumentException("minBytes is less than 1: " + minBytes);
        }
        this.minBytes = minBytes;
    }

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        Set<NodeId> blockedNodes = new HashSet<>();
        for (NodeMemoryInfo node : nodes) {
            if (node.isBlocked()) {
                blockedNodes.add(node.nodeId());
            }
        }
        RunningQueryInfo victim = null;
        long victimBytes = 0;
        for (RunningQueryInfo query : runningQueries) {
            long bytes = 0;
            for (TaskMemoryInfo task : query.tasks().values()) {
                if (blockedNodes.contains(task.nodeId())) {
                    bytes += task.reservedBytes() + task.revocableBytes();
                }
            }
            if (bytes < minBytes) {
                continue;
            }
            // strict comparisons: on a full tie the query listed first stays the victim
            int age = victim == null ? -1 : query.executionTime().compareTo(victim.executionTime());
            if (victim == null || age < 0 || (age == 0 && bytes > victimBytes)) {
                victim = query;
                victimBytes = bytes;
            }
        }
        return Optional.ofNullable(victim).map(query -> KillTarget.wholeQuery(query.queryId()));
    }

    @Override
    public String toString()
    {
        return ${classPrefix}LowMemoryKillerFactory.NAME + "(min-bytes-on-blocked-nodes=" + minBytes + ")";
    }
}
