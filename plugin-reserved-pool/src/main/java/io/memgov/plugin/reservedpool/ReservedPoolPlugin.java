package io.memgov.plugin.reservedpool;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.pool.MemoryPoolFactory;

import java.util.List;

/**
 * Presto's RESERVED pool as a plugin: pool policy {@code reserved-pool}. Listed in
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
}
