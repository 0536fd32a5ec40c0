package io.memgov.engine.internal.cluster;

import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.NodeSnapshot;

import java.util.List;
import java.util.Optional;

/**
 * A transport for driving one coordinator's rounds by hand: always the coordinator, no publishing, no saved state.
 * A test gives the snapshots the loop reads and sees the commands it sends.
 */
abstract class CoordinatorTransportStub
        implements ClusterTransport
{
    @Override
    public void start(ClusterTransportContext context) {}

    @Override
    public void publish(List<NodeSnapshot> localNodes) {}

    @Override
    public boolean isCoordinator()
    {
        return true;
    }

    @Override
    public void saveCoordinatorState(CoordinatorState state) {}

    @Override
    public Optional<CoordinatorState> loadCoordinatorState()
    {
        return Optional.empty();
    }

    @Override
    public void close() {}
}
