package io.memgov.engine;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;

import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A killer that reads as its policy name in the loop's log lines and in {@code MemoryEngine.queryKiller()}. The thread
 * context class loader of a drop-in killer is already set by the wrapper {@code PluginRegistry.create} returns.
 */
final class NamedKiller
        implements LowMemoryKiller
{
    private final LowMemoryKiller delegate;
    private final String name;

    NamedKiller(LowMemoryKiller delegate, String name)
    {
        this.delegate = requireNonNull(delegate, "delegate is null");
        this.name = requireNonNull(name, "name is null");
    }

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        return delegate.chooseTargetToKill(runningQueries, nodes);
    }

    @Override
    public String toString()
    {
        return name;
    }
}
