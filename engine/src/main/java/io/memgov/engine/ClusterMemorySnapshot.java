package io.memgov.engine;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cluster's memory at one instant, the data Trino serves at {@code /v1/cluster/memory}: each pool summed over the
 * nodes, the loop's counters, every node's own view, and the running queries as the loop's last round saw them (with
 * the distributed limits in force for each and its cumulative memory, which Presto reports per query).
 */
public record ClusterMemorySnapshot(
        Map<String, ClusterPoolSnapshot> pools,
        long queriesKilledDueToOutOfMemory,
        long tasksKilledDueToOutOfMemory,
        long clusterUserMemoryReservation,
        long clusterTotalMemoryReservation,
        int numberOfLeakedQueries,
        List<NodeMemorySnapshot> nodes,
        HeapMemorySnapshot heap,
        List<ClusterQueryMemory> queries)
{
    /** Sums the given node snapshots; the counters come from the cluster loop. */
    public static ClusterMemorySnapshot of(List<NodeMemoryInfo> nodes, LoopCounters counters, HeapMemorySnapshot heap)
    {
        Map<String, ClusterPoolSnapshot> pools = new LinkedHashMap<>();
        for (NodeMemoryInfo node : nodes) {
            for (MemoryPoolInfo pool : node.pools()) {
                pools.computeIfAbsent(pool.poolId(), poolId -> ClusterPoolSnapshot.of(poolId, nodes));
            }
        }
        return new ClusterMemorySnapshot(
                pools,
                counters.queriesKilledDueToOutOfMemory(),
                counters.tasksKilledDueToOutOfMemory(),
                counters.clusterUserMemoryReservation(),
                counters.clusterTotalMemoryReservation(),
                counters.numberOfLeakedQueries(),
                nodes.stream().map(NodeMemorySnapshot::of).toList(),
                heap,
                counters.queries());
    }

    /** What the cluster loop counts; {@code ClusterMemoryManager} provides it. */
    public interface LoopCounters
    {
        long queriesKilledDueToOutOfMemory();

        long tasksKilledDueToOutOfMemory();

        long clusterUserMemoryReservation();

        long clusterTotalMemoryReservation();

        int numberOfLeakedQueries();

        /** The running queries as the loop's last round saw them; none by default. */
        default List<ClusterQueryMemory> queries()
        {
            return List.of();
        }
    }
}
