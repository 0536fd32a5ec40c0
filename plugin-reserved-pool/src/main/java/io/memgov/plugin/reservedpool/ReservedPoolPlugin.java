package io.memgov.plugin.reservedpool;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.pool.MemoryPoolFactory;

import java.util.List;

/**
 * Presto's RESERVED pool as a plugin: pool policy {@code reserved-pool} and its pool assigner of the same name. Listed in
 * {@code META-INF/services/io.memgov.spi.MemoryPlugin}.
 */
public final class ReservedPoolPlugin
        implements MemoryPlugin
{
    @Override
    public List<MemoryPoolFactory> memoryPoolFactories()
    {
        return List.of(new ReservedPoolFactory());
    }

    @Override
    public List<MemoryPoolAssignerFactory> memoryPoolAssignerFactories()
    {
        return List.of(new ReservedPoolAssignerFactory());
    }
}
