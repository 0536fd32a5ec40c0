package com.example.memgov.killer;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.LowMemoryKillerFactory;

import java.util.List;

/**
 * The plugin's entry point: offers the query killer {@code most-tasks-on-blocked-nodes}.
 *
 * <pre>{@code
 * query.low-memory-killer.policy=most-tasks-on-blocked-nodes
 * # optional: tasks holding less than this on a blocked node do not count (default 1 byte)
 * query.low-memory-killer.most-tasks-on-blocked-nodes.min-task-bytes=1MB
 * }</pre>
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}, so that {@link java.util.ServiceLoader} finds it
 * on the class path or in the engine's {@code plugins/} directory. The engine needs a public no-argument constructor
 * and calls {@link #lowMemoryKillerFactories()} once at start-up.
 */
public final class MostTasksOnBlockedNodesPlugin
        implements MemoryPlugin
{
    /** Required by {@link java.util.ServiceLoader}; does nothing, as a constructor that throws disables the plugin. */
    public MostTasksOnBlockedNodesPlugin() {}

    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(new MostTasksOnBlockedNodesLowMemoryKillerFactory());
    }
}
