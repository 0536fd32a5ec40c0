package io.memgov.engine.internal.cluster;

import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.NodeSnapshot;

import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * The transport of an embedded cluster ({@code cluster.transport.policy=embedded}, the default): every node lives in
 * this engine, so the engine is always the coordinator, the snapshots it publishes are the cluster, and a command is
 * applied to the nodes before {@link #send} returns. Thread-safe.
 */
public final class EmbeddedClusterTransport
        implements ClusterTransport
{
    private volatile ClusterTransportContext context;
    private volatile List<NodeSnapshot> snapshots = List.of();
    private volatile CoordinatorState coordinatorState;

    @Override
    public void start(ClusterTransportContext context)
    {
        this.context = requireNonNull(context, "context is null");
    }

    @Override
    public void publish(List<NodeSnapshot> localNodes)
    {
        snapshots = List.copyOf(localNodes);
    }

    @Override
    public boolean isCoordinator()
    {
        return true;
    }

    @Override
    public List<NodeSnapshot> clusterSnapshots()
    {
        return snapshots;
    }

    @Override
    public void send(ClusterCommand command)
    {
        ClusterTransportContext started = context;
        if (started == null) {
            throw new IllegalStateException("the embedded cluster transport is not started");
        }
        started.apply(command);
    }

    @Override
    public void saveCoordinatorState(CoordinatorState state)
    {
        coordinatorState = requireNonNull(state, "state is null");
    }

    @Override
    public Optional<CoordinatorState> loadCoordinatorState()
    {
        return Optional.ofNullable(coordinatorState);
    }

    @Override
    public void close() {}

    @Override
    public String toString()
    {
        return "embedded";
    }
}
