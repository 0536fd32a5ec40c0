package io.memgov.engine;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One pool of one node as {@code /v1/memory} shows it: Trino's {@code MemoryPoolInfo} fields, with query and task ids
 * as strings so the JSON keys read as ids, and maps sorted by id so two snapshots diff cleanly.
 *
 * @param kind {@code HEAP} for the node's layout pools, {@code DIRECT} for its direct pool
 */
public record PoolSnapshot(
        long maxBytes,
        long reservedBytes,
        long reservedRevocableBytes,
        long freeBytes,
        boolean blocked,
        Map<String, Long> queryMemoryReservations,
        Map<String, List<MemoryAllocation>> queryMemoryAllocations,
        Map<String, Long> queryMemoryRevocableReservations,
        Map<String, Long> taskMemoryReservations,
        Map<String, Long> taskRevocableMemoryReservations,
        String kind)
{
    public static PoolSnapshot of(MemoryPoolInfo pool)
    {
        return new PoolSnapshot(
                pool.maxBytes(),
                pool.reservedBytes(),
                pool.reservedRevocableBytes(),
                pool.freeBytes(),
                pool.isBlocked(),
                byId(pool.queryMemoryReservations()),
                byId(pool.queryMemoryAllocations()),
                byId(pool.queryMemoryRevocableReservations()),
                byId(pool.taskMemoryReservations()),
                byId(pool.taskRevocableMemoryReservations()),
                pool.kind().name());
    }

    private static <K, V> Map<String, V> byId(Map<K, V> map)
    {
        Map<String, V> sorted = new TreeMap<>();
        map.forEach((key, value) -> sorted.put(key.toString(), value));
        return sorted;
    }
}
