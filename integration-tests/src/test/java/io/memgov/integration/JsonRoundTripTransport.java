package io.memgov.integration;

import io.memgov.json.ClusterJson;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.policy.PolicyConfig;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cluster transport written from the SPI and the documented JSON alone, as a host with its own RPC would write one:
 * every snapshot, command and coordinator state goes out as JSON text and comes back parsed, so the loop sees only
 * what survived the wire. It also checks that each document reads back equal to what was written.
 */
final class JsonRoundTripTransport
        implements ClusterTransport
{
    static final String NAME = "json-round-trip";

    /** Offers the transport under {@value #NAME}. */
    static final MemoryPlugin PLUGIN = new MemoryPlugin()
    {
        @Override
        public List<ClusterTransportFactory> clusterTransportFactories()
        {
            return List.of(new ClusterTransportFactory()
            {
                @Override
                public String name()
                {
                    return NAME;
                }

                @Override
                public ClusterTransport create(PolicyConfig config, ClusterTransportContext context)
                {
                    config.requireOnly();
                    return new JsonRoundTripTransport();
                }
            });
        }
    };

    // what crossed the wire, for tests that want to see it
    static final AtomicLong DOCUMENTS = new AtomicLong();

    private volatile ClusterTransportContext context;
    private volatile List<String> published = List.of();
    private volatile String coordinatorState;

    @Override
    public void start(ClusterTransportContext context)
    {
        this.context = context;
    }

    @Override
    public void publish(List<NodeSnapshot> localNodes)
    {
        published = localNodes.stream().map(snapshot -> {
            String json = ClusterJson.write(snapshot);
            assertThat(ClusterJson.readNodeSnapshot(json)).isEqualTo(snapshot);
            DOCUMENTS.incrementAndGet();
            return json;
        }).toList();
    }

    @Override
    public boolean isCoordinator()
    {
        return true;
    }

    @Override
    public List<NodeSnapshot> clusterSnapshots()
    {
        return published.stream().map(ClusterJson::readNodeSnapshot).toList();
    }

    @Override
    public void send(ClusterCommand command)
    {
        String json = ClusterJson.write(command);
        DOCUMENTS.incrementAndGet();
        ClusterCommand received = ClusterJson.readCommand(json);
        assertThat(received).isEqualTo(command);
        context.apply(received);
    }

    @Override
    public void saveCoordinatorState(CoordinatorState state)
    {
        coordinatorState = ClusterJson.write(state);
        DOCUMENTS.incrementAndGet();
    }

    @Override
    public Optional<CoordinatorState> loadCoordinatorState()
    {
        return Optional.ofNullable(coordinatorState).map(ClusterJson::readCoordinatorState);
    }

    @Override
    public void close() {}
}
