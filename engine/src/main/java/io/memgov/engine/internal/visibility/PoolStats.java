package io.memgov.engine.internal.visibility;

import io.memgov.engine.ClusterPoolSnapshot;
import io.memgov.spi.cluster.NodeMemoryInfo;

import java.util.List;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/** {@link MemoryPoolMXBean} over fresh node snapshots: one node's pool, or the pool summed over every node. */
final class PoolStats
        implements MemoryPoolMXBean
{
    private final String poolId;
    private final Supplier<List<NodeMemoryInfo>> nodes;

    PoolStats(String poolId, Supplier<List<NodeMemoryInfo>> nodes)
    {
        this.poolId = requireNonNull(poolId, "poolId is null");
        this.nodes = requireNonNull(nodes, "nodes is null");
    }

    private ClusterPoolSnapshot snapshot()
    {
        return ClusterPoolSnapshot.of(poolId, nodes.get());
    }

    @Override
    public long getMaxBytes()
    {
        return snapshot().totalDistributedBytes();
    }

    @Override
    public long getReservedBytes()
    {
        return snapshot().reservedDistributedBytes();
    }

    @Override
    public long getReservedRevocableBytes()
    {
        return snapshot().reservedRevocableDistributedBytes();
    }

    @Override
    public long getFreeBytes()
    {
        return snapshot().freeDistributedBytes();
    }

    @Override
    public int getBlockedNodes()
    {
        return snapshot().blockedNodes();
    }

    @Override
    public int getAssignedQueries()
    {
        return snapshot().assignedQueries();
    }

    @Override
    public int getNodes()
    {
        return snapshot().nodes();
    }
}
