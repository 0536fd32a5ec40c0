package io.memgov.engine;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One pool summed over every node that has it, as Trino's {@code /v1/cluster/memory} shows it.
 *
 * @param largestMemoryQuery the query holding the most bytes of this pool over all nodes, or null when none holds any
 */
public record ClusterPoolSnapshot(
        long totalDistributedBytes,
        long reservedDistributedBytes,
        long reservedRevocableDistributedBytes,
        long freeDistributedBytes,
        int nodes,
        int blockedNodes,
        int assignedQueries,
        String largestMemoryQuery,
        Map<String, Long> queryMemoryReservations)
{
    /** The pool {@code poolId} summed over the nodes that have it. */
    public static ClusterPoolSnapshot of(String poolId, List<NodeMemoryInfo> nodes)
    {
        long total = 0;
        long reserved = 0;
        long revocable = 0;
        int poolNodes = 0;
        int blocked = 0;
        Map<String, Long> queries = new TreeMap<>();
        for (NodeMemoryInfo node : nodes) {
            Optional<MemoryPoolInfo> found = node.pool(poolId);
            if (found.isEmpty()) {
                continue;
            }
            MemoryPoolInfo pool = found.get();
            poolNodes++;
            total += pool.maxBytes();
            reserved += pool.reservedBytes();
            revocable += pool.reservedRevocableBytes();
            if (pool.isBlocked()) {
                blocked++;
            }
            pool.queryMemoryReservations().forEach((query, bytes) -> queries.merge(query.toString(), bytes, Long::sum));
            pool.queryMemoryRevocableReservations().forEach((query, bytes) -> queries.merge(query.toString(), bytes, Long::sum));
        }
        queries.values().removeIf(bytes -> bytes == 0);
        String largest = queries.entrySet().stream()
                .max(Map.Entry.comparingByValue())
                .map(Map.Entry::getKey)
                .orElse(null);
        return new ClusterPoolSnapshot(total, reserved, revocable, total - reserved - revocable, poolNodes, blocked, queries.size(), largest, queries);
    }
}
