package io.memgov.engine;

import io.memgov.engine.SelectedPolicy;
import io.memgov.spi.cluster.ClusterTransport;

import static java.util.Objects.requireNonNull;

/** The selected cluster transport with the context the engine starts it with. */
record EngineTransport(SelectedPolicy<ClusterTransport> transport, TransportContext context)
{
    EngineTransport
    {
        requireNonNull(transport, "transport is null");
        requireNonNull(context, "context is null");
    }

    ClusterTransport policy()
    {
        return transport.policy();
    }

    void start()
    {
        transport.policy().start(context);
    }
}
