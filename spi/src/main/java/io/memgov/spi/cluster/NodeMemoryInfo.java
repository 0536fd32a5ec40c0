package io.memgov.spi.cluster;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;

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
 *        out-of-memory rule and the killers look at. Layouts with more pools (Presto's RESERVED) list them after it.
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

    /** True when the general pool is blocked (non-revocable reservations reach its maximum). */
    public boolean isBlocked()
    {
        return generalPool().isBlocked();
    }
}
