package io.memgov.engine;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;

import java.util.LinkedHashMap;
import java.util.Map;

/** One node's memory, the data Trino serves at {@code /v1/memory}: every pool by id, the general pool first. */
public record NodeMemorySnapshot(String nodeId, Map<String, PoolSnapshot> pools)
{
    public static NodeMemorySnapshot of(NodeMemoryInfo node)
    {
        Map<String, PoolSnapshot> pools = new LinkedHashMap<>();
        for (MemoryPoolInfo pool : node.pools()) {
            pools.put(pool.poolId(), PoolSnapshot.of(pool));
        }
        return new NodeMemorySnapshot(node.nodeId().toString(), pools);
    }
}
