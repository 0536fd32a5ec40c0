package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;

import java.util.List;
import java.util.Optional;

/**
 * A plugin that fits in one class file, so that {@link PluginLoaderTest} can copy it into a jar and load it in its
 * own {@link PluginClassLoader}. It must use nothing but the JDK and the SPI (no lambdas, no other test classes).
 */
public final class JarPlugin
        implements MemoryPlugin, LowMemoryKillerFactory, LowMemoryKiller
{
    private volatile String contextLoaderName;

    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(this);
    }

    @Override
    public String name()
    {
        return "jar-killer";
    }

    @Override
    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
    {
        // records which loader the engine set as context loader while creating the killer
        contextLoaderName = Thread.currentThread().getContextClassLoader().getName();
        return this;
    }

    /** The name of the thread context loader during {@link #create}; read by the test through reflection. */
    public String contextLoaderName()
    {
        return contextLoaderName;
    }

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        return Optional.empty();
    }
}
