package io.memgov.spi.pool;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * An immutable snapshot of one pool on one node, the data Trino serves at {@code /v1/memory}. The maps hold only
 * non-zero entries. Taken without a global lock, so the maps and totals may disagree by reservations that were in
 * flight while the snapshot was taken.
 *
 * @param poolId the pool's name on its node, e.g. {@code general} or {@code reserved}; never null
 * @param maxBytes the pool's budget; non-negative
 * @param reservedBytes user (and system) bytes reserved; non-negative, may exceed {@code maxBytes}
 * @param reservedRevocableBytes revocable bytes reserved; non-negative
 * @param queryMemoryReservations user bytes per query
 * @param queryMemoryAllocations user bytes per query and tag, largest first
 * @param queryMemoryRevocableReservations revocable bytes per query
 * @param taskMemoryReservations user bytes per task
 * @param taskRevocableMemoryReservations revocable bytes per task
 * @param kind what memory the pool budgets: {@link MemoryPoolKind#HEAP} for the node's layout pools,
 *        {@link MemoryPoolKind#DIRECT} for its direct pool (since 1.1); never null
 * @since 1.0
 */
public record MemoryPoolInfo(
        String poolId,
        long maxBytes,
        long reservedBytes,
        long reservedRevocableBytes,
        Map<QueryId, Long> queryMemoryReservations,
        Map<QueryId, List<MemoryAllocation>> queryMemoryAllocations,
        Map<QueryId, Long> queryMemoryRevocableReservations,
        Map<TaskId, Long> taskMemoryReservations,
        Map<TaskId, Long> taskRevocableMemoryReservations,
        MemoryPoolKind kind)
{
    public MemoryPoolInfo
    {
        requireNonNull(poolId, "poolId is null");
        requireNonNull(kind, "kind is null");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes is negative: " + maxBytes);
        }
        if (reservedBytes < 0) {
            throw new IllegalArgumentException("reservedBytes is negative: " + reservedBytes);
        }
        if (reservedRevocableBytes < 0) {
            throw new IllegalArgumentException("reservedRevocableBytes is negative: " + reservedRevocableBytes);
        }
        queryMemoryReservations = Map.copyOf(requireNonNull(queryMemoryReservations, "queryMemoryReservations is null"));
        queryMemoryAllocations = copyAllocations(requireNonNull(queryMemoryAllocations, "queryMemoryAllocations is null"));
        queryMemoryRevocableReservations = Map.copyOf(requireNonNull(queryMemoryRevocableReservations, "queryMemoryRevocableReservations is null"));
        taskMemoryReservations = Map.copyOf(requireNonNull(taskMemoryReservations, "taskMemoryReservations is null"));
        taskRevocableMemoryReservations = Map.copyOf(requireNonNull(taskRevocableMemoryReservations, "taskRevocableMemoryReservations is null"));
    }

    /** A heap pool: the constructor of 1.0, before pools had a kind. */
    public MemoryPoolInfo(
            String poolId,
            long maxBytes,
            long reservedBytes,
            long reservedRevocableBytes,
            Map<QueryId, Long> queryMemoryReservations,
            Map<QueryId, List<MemoryAllocation>> queryMemoryAllocations,
            Map<QueryId, Long> queryMemoryRevocableReservations,
            Map<TaskId, Long> taskMemoryReservations,
            Map<TaskId, Long> taskRevocableMemoryReservations)
    {
        this(poolId, maxBytes, reservedBytes, reservedRevocableBytes, queryMemoryReservations, queryMemoryAllocations, queryMemoryRevocableReservations,
                taskMemoryReservations, taskRevocableMemoryReservations, MemoryPoolKind.HEAP);
    }

    /** An empty heap pool of the given size. */
    public static MemoryPoolInfo empty(String poolId, long maxBytes)
    {
        return new MemoryPoolInfo(poolId, maxBytes, 0, 0, Map.of(), Map.of(), Map.of(), Map.of(), Map.of());
    }

    /**
     * This snapshot with another kind: how the engine marks the snapshot of a node's direct pool, whatever pool
     * implementation it uses.
     *
     * @since 1.1
     */
    public MemoryPoolInfo withKind(MemoryPoolKind newKind)
    {
        return new MemoryPoolInfo(poolId, maxBytes, reservedBytes, reservedRevocableBytes, queryMemoryReservations, queryMemoryAllocations,
                queryMemoryRevocableReservations, taskMemoryReservations, taskRevocableMemoryReservations, newKind);
    }

    /** {@code max - reserved - revocable}; negative when the pool is over-committed. */
    public long freeBytes()
    {
        return maxBytes - reservedBytes - reservedRevocableBytes;
    }

    /**
     * True when the non-revocable reservations reach the maximum ({@code free + revocable <= 0}). Revocable memory
     * delays callers but never makes a node blocked, because it can be taken back.
     */
    public boolean isBlocked()
    {
        return maxBytes - reservedBytes <= 0;
    }

    /** User bytes the query holds in this pool; zero when absent. */
    public long queryReservedBytes(QueryId queryId)
    {
        return queryMemoryReservations.getOrDefault(queryId, 0L);
    }

    /** Revocable bytes the query holds in this pool; zero when absent. */
    public long queryRevocableBytes(QueryId queryId)
    {
        return queryMemoryRevocableReservations.getOrDefault(queryId, 0L);
    }

    private static Map<QueryId, List<MemoryAllocation>> copyAllocations(Map<QueryId, List<MemoryAllocation>> allocations)
    {
        return allocations.entrySet().stream()
                .collect(java.util.stream.Collectors.toUnmodifiableMap(Map.Entry::getKey, entry -> List.copyOf(entry.getValue())));
    }
}
