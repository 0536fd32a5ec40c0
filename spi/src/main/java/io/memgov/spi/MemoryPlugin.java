package io.memgov.spi;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.arbitration.MemoryArbitratorFactory;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTrackerFactory;

import java.util.List;

/**
 * The single entry point of a memgov plugin jar, listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}.
 * Needs a public no-argument constructor, which should do nothing expensive.
 *
 * <p>Every method is a default returning an empty list, so new extension points never break old plugins. The
 * engine calls each method once at start-up, on the start-up thread, with the thread context class loader set to
 * the plugin's, and registers each factory under its name; a name offered twice within a family fails start-up.
 * Only the factories selected by configuration are asked to create anything.
 *
 * <p>Each method lists the factories of one {@link PolicyFamily}; the family's javadoc says which key selects its
 * policy, what the default is, and whether the policy is created once per node or once per engine.
 *
 * @since 1.0
 */
public interface MemoryPlugin
{
    default List<MemoryPoolFactory> memoryPoolFactories()
    {
        return List.of();
    }

    default List<MemoryTrackerFactory> memoryTrackerFactories()
    {
        return List.of();
    }

    default List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of();
    }

    default List<SpillStrategyFactory> spillStrategyFactories()
    {
        return List.of();
    }

    default List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
    {
        return List.of();
    }

    default List<MemoryPoolAssignerFactory> memoryPoolAssignerFactories()
    {
        return List.of();
    }

    default List<ClusterTransportFactory> clusterTransportFactories()
    {
        return List.of();
    }

    /** Node arbitrators ({@code memory.arbitrator.policy}); experimental. */
    @Experimental
    default List<MemoryArbitratorFactory> memoryArbitratorFactories()
    {
        return List.of();
    }
}
