package io.memgov.plugin.none;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKillerFactory;

import java.util.List;

/**
 * Offers the low-memory killer {@code none} twice: once as a query killer and once as a task killer. Selecting it
 * ({@code query.low-memory-killer.policy=none} or {@code task.low-memory-killer.policy=none}) turns that killer off:
 * the cluster loop still notices that the cluster is out of memory, but nothing is killed and blocked queries wait
 * until memory is freed some other way.
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}; the engine finds it with
 * {@link java.util.ServiceLoader}. Stateless and cheap to construct.
 *
 * @since 0.1
 */
public final class NonePlugin
        implements MemoryPlugin
{
    /** Required by {@link java.util.ServiceLoader}; does nothing. */
    public NonePlugin() {}

    /** The {@code none} killer in {@link KillerScope#QUERY} and in {@link KillerScope#TASK}, in that order. */
    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(
                new NoneLowMemoryKillerFactory(KillerScope.QUERY),
                new NoneLowMemoryKillerFactory(KillerScope.TASK));
    }
}
