package io.memgov.plugin.none;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;

import java.util.List;
import java.util.Optional;

/**
 * Never kills anything. Stateless, so one instance serves both scopes and any number of engines.
 */
final class NoneLowMemoryKiller
        implements LowMemoryKiller
{
    static final NoneLowMemoryKiller INSTANCE = new NoneLowMemoryKiller();

    private NoneLowMemoryKiller() {}

    /** Always empty, whatever the cluster looks like. */
    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        return Optional.empty();
    }
}
