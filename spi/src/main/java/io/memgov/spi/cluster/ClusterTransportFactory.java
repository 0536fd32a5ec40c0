package io.memgov.spi.cluster;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates the cluster transport, selected by {@code cluster.transport.policy} (default {@code embedded}).
 *
 * @since 1.0
 */
@Experimental
public interface ClusterTransportFactory
        extends PolicyFactory<ClusterTransportContext, ClusterTransport>
{
    /**
     * Creates the transport, once per engine at start-up; it starts when the engine calls
     * {@link ClusterTransport#start}.
     *
     * @param config the keys under {@code cluster.transport.<name>.}, prefix stripped; never null
     */
    @Override
    ClusterTransport create(PolicyConfig config, ClusterTransportContext context);
}
