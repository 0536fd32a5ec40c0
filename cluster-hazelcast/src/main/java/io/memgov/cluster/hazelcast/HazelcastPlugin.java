package io.memgov.cluster.hazelcast;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.ClusterTransportFactory;

import java.util.List;

/**
 * Offers the cluster transport {@code hazelcast} ({@code cluster.transport.policy=hazelcast}). Listed in
 * {@code META-INF/services/io.memgov.spi.MemoryPlugin}; deployed as the folder {@code target/plugin/memgov-cluster-hazelcast/}
 * copied into an engine's {@code plugin.dir}, so that Hazelcast, Jackson and this plugin's SLF4J stay in its own class
 * loader.
 */
public final class HazelcastPlugin
        implements MemoryPlugin
{
    @Override
    public List<ClusterTransportFactory> clusterTransportFactories()
    {
        return List.of(new HazelcastClusterTransportFactory());
    }
}
