package io.memgov.plugin.reservemode;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.pool.MemoryPoolFactory;

import java.util.List;

/**
 * TDengine's reserve mode for memgov: offers the pool policy {@code reserve-mode}
 * ({@code memory.pool.policy=reserve-mode}), which keeps a reserve of available memory free, caps each query on a
 * node, retires queries when available memory falls below the reserve, and retires queries that sit on memory
 * without using it. Settings are under {@code memory.pool.reserve-mode.*} (keys listed on {@code ReserveModeConfig}).
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}; the no-argument constructor does nothing.
 *
 * @since 0.1
 */
public final class ReserveModePlugin
        implements MemoryPlugin
{
    @Override
    public List<MemoryPoolFactory> memoryPoolFactories()
    {
        return List.of(new ReserveModePoolFactory());
    }
}
