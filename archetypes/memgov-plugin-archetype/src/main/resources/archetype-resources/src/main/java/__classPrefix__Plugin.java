package ${package};

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.LowMemoryKillerFactory;

import java.util.List;

/**
 * The plugin's entry point: offers the query killer {@code ${policyName}}, selected with
 * {@code query.low-memory-killer.policy=${policyName}}.
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}, so that {@link java.util.ServiceLoader} finds it
 * on the class path or in the engine's {@code plugins/} directory. The engine calls the public no-argument constructor
 * and {@code lowMemoryKillerFactories()} once at start-up.
 */
public final class ${classPrefix}Plugin
        implements MemoryPlugin
{
    /** Required by {@link java.util.ServiceLoader}; does nothing, as a constructor that throws disables the plugin. */
    public ${classPrefix}Plugin() {}

    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(new ${classPrefix}LowMemoryKillerFactory());
    }
}
