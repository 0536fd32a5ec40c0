package io.memgov.spi.cluster;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.NodeId;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * One node's memory as the cluster loop last read it.
 *
 * @param nodeId never null
 * @param pools the node's pools, at least one, ids unique. The first is the <em>general</em> pool: the one the
 *        out-of-memory rule and the killers look at. Layouts with more pools (Presto's RESERVED) list them after it;
 *        a node with a direct pool lists it last, with {@link MemoryPoolKind#DIRECT} as its kind.
 * @since 1.0
 */
public record NodeMemoryInfo(NodeId nodeId, List<MemoryPoolInfo> pools)
{
    public NodeMemoryInfo
    {
        requireNonNull(nodeId, "nodeId is null");
        pools = List.copyOf(requireNonNull(pools, "pools is null"));
        if (pools.isEmpty()) {
            throw new IllegalArgumentException("node " + nodeId + " has no pool");
        }
        Set<String> ids = new HashSet<>();
        for (MemoryPoolInfo pool : pools) {
            if (!ids.add(pool.poolId())) {
                throw new IllegalArgumentException("node " + nodeId + " lists pool '" + pool.poolId() + "' twice");
            }
        }
    }

    /** A node with a single pool. */
    public static NodeMemoryInfo of(NodeId nodeId, MemoryPoolInfo pool)
    {
        return new NodeMemoryInfo(nodeId, List.of(pool));
    }

    /** The pool killers look at: the first one. */
    public MemoryPoolInfo generalPool()
    {
        return pools.get(0);
    }

    /** The pool with the given id, if the node has one. */
    public Optional<MemoryPoolInfo> pool(String poolId)
    {
        return pools.stream().filter(pool -> pool.poolId().equals(poolId)).findFirst();
    }

    /**
     * The node's direct pool, if it has one: the pool of kind {@link MemoryPoolKind#DIRECT}.
     *
     * @since 1.1
     */
    public Optional<MemoryPoolInfo> directPool()
    {
        return pools.stream().filter(pool -> pool.kind() == MemoryPoolKind.DIRECT).findFirst();
    }

    /**
     * The pools that make this node blocked, in the order of {@link #pools()}: the general pool if it is blocked, and
     * the direct pool if the node has one and it is blocked. Empty when the node is not blocked. A killer that weighs
     * the reservations on blocked nodes reads them here, so that a node blocked by its direct memory offers the
     * queries holding that memory.
     *
     * @since 1.1
     */
    public List<MemoryPoolInfo> blockedPools()
    {
        List<MemoryPoolInfo> blocked = new ArrayList<>(2);
        for (int i = 0; i < pools.size(); i++) {
            MemoryPoolInfo pool = pools.get(i);
            if ((i == 0 || pool.kind() == MemoryPoolKind.DIRECT) && pool.isBlocked()) {
                blocked.add(pool);
            }
        }
        return List.copyOf(blocked);
    }

    /**
     * True when the general pool is blocked (non-revocable reservations reach its maximum), or the node's direct pool
     * is. Other heap pools (Presto's reserved pool) never make a node blocked.
     */
    public boolean isBlocked()
    {
        return !blockedPools().isEmpty();
    }
}
