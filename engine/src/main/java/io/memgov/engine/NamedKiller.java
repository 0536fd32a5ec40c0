package io.memgov.engine;

import io.memgov.engine.plugin.ThreadContextClassLoader;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.NodeMemoryInfo;
import io.memgov.spi.killer.RunningQueryInfo;

import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Runs a plugin's killer with the plugin's class loader as thread context loader.
 */
final class ContextLoaderKiller
        implements LowMemoryKiller
{
    private final LowMemoryKiller delegate;
    private final ClassLoader loader;
    private final String name;

    ContextLoaderKiller(LowMemoryKiller delegate, ClassLoader loader, String name)
    {
        this.delegate = requireNonNull(delegate, "delegate is null");
        this.loader = requireNonNull(loader, "loader is null");
        this.name = requireNonNull(name, "name is null");
    }

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
            return delegate.chooseTargetToKill(runningQueries, nodes);
        }
    }

    @Override
    public String toString()
    {
        return name;
    }
}
