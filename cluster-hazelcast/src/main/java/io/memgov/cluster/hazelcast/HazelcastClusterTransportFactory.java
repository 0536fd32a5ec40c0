package io.memgov.cluster.hazelcast;

import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.util.List;

/**
 * {@code cluster.transport.policy=hazelcast}: reads the keys under {@code cluster.transport.hazelcast.} (see
 * {@link HazelcastSettings}), including the secret file, and creates a transport that joins the cluster when the
 * engine starts it.
 */
final class HazelcastClusterTransportFactory
        implements ClusterTransportFactory
{
    static final String NAME = "hazelcast";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public List<PolicyConfigKey> configKeys()
    {
        return HazelcastSettings.CONFIG_KEYS;
    }

    @Override
    public ClusterTransport create(PolicyConfig config, ClusterTransportContext context)
    {
        return new HazelcastClusterTransport(HazelcastSettings.fromConfig(config, context.pollInterval()));
    }
}
