package io.memgov.engine;

import io.memgov.engine.internal.cluster.EmbeddedClusterTransport;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerContext;
import io.memgov.spi.tracker.MemoryTrackerFactory;

import java.util.List;

/**
 * The defaults that ship inside the engine: pool {@code fixed}, tracker {@code exact}, cluster transport
 * {@code embedded}, and the {@code none} spill strategy, leak detector and pool assigner that switch those families
 * off. Registered like any plugin, so names
 * stay unique.
 */
final class BuiltInPlugin
        implements MemoryPlugin
{
    static final String NONE = "none";

    @Override
    public List<MemoryPoolFactory> memoryPoolFactories()
    {
        return List.of(new MemoryPoolFactory()
        {
            @Override
            public String name()
            {
                return "fixed";
            }

            @Override
            public List<PolicyConfigKey> configKeys()
            {
                return List.of(new PolicyConfigKey("max-size", "the node's pool", "the pool's maximum, in place of the node's heap minus memory.heap-headroom-per-node"));
            }

            @Override
            public MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context)
            {
                config.requireOnly("max-size");
                return MemoryPoolLayout.of(new FixedMemoryPool("general", config.size("max-size", context.poolBytes())));
            }
        });
    }

    @Override
    public List<MemoryTrackerFactory> memoryTrackerFactories()
    {
        return List.of(new MemoryTrackerFactory()
        {
            @Override
            public String name()
            {
                return "exact";
            }

            @Override
            public List<PolicyConfigKey> configKeys()
            {
                return List.of(new PolicyConfigKey("max-server-memory-usage", "0", "limit of the node's root tracker, over every query on the node; 0 for none"));
            }

            @Override
            public MemoryTracker create(PolicyConfig config, MemoryTrackerContext context)
            {
                config.requireOnly("max-server-memory-usage");
                return ExactMemoryTracker.root(context.nodeId().toString(), config.size("max-server-memory-usage", 0));
            }
        });
    }

    @Override
    public List<SpillStrategyFactory> spillStrategyFactories()
    {
        return List.of(new SpillStrategyFactory()
        {
            @Override
            public String name()
            {
                return NONE;
            }

            @Override
            public SpillStrategy create(PolicyConfig config, SpillStrategyContext context)
            {
                config.requireOnly();
                return SpillStrategy.NONE;
            }
        });
    }

    @Override
    public List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
    {
        return List.of(new MemoryLeakDetectorFactory()
        {
            @Override
            public String name()
            {
                return NONE;
            }

            @Override
            public MemoryLeakDetector create(PolicyConfig config, MemoryLeakDetectorContext context)
            {
                config.requireOnly();
                return MemoryLeakDetector.NONE;
            }
        });
    }

    @Override
    public List<ClusterTransportFactory> clusterTransportFactories()
    {
        return List.of(new ClusterTransportFactory()
        {
            @Override
            public String name()
            {
                return "embedded";
            }

            @Override
            public ClusterTransport create(PolicyConfig config, ClusterTransportContext context)
            {
                config.requireOnly();
                return new EmbeddedClusterTransport();
            }
        });
    }

    @Override
    public List<MemoryPoolAssignerFactory> memoryPoolAssignerFactories()
    {
        return List.of(new MemoryPoolAssignerFactory()
        {
            @Override
            public String name()
            {
                return NONE;
            }

            @Override
            public MemoryPoolAssigner create(PolicyConfig config, MemoryPoolAssignerContext context)
            {
                config.requireOnly();
                return MemoryPoolAssigner.NONE;
            }
        });
    }
}
