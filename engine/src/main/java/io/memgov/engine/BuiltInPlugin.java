package io.memgov.engine;

import io.memgov.engine.pool.FixedMemoryPool;
import io.memgov.engine.tracker.ExactMemoryTracker;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfigKeys;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerContext;
import io.memgov.spi.tracker.MemoryTrackerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.memgov.engine.config.ConfigValues.parseBytes;

/**
 * The defaults that ship inside the engine: pool {@code fixed}, tracker {@code exact}, and the {@code none} spill
 * strategy and leak detector that switch those families off. Registered like any plugin, so names stay unique.
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
            public MemoryPool create(Map<String, String> config, MemoryPoolContext context)
            {
                PolicyConfigKeys.checkKnown(config, "memory pool 'fixed'", Set.of("max-size"));
                long maxBytes = config.containsKey("max-size")
                        ? parseBytes("memory.pool.fixed.max-size", config.get("max-size"))
                        : context.poolBytes();
                return new FixedMemoryPool("general", maxBytes);
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
            public MemoryTracker create(Map<String, String> config, MemoryTrackerContext context)
            {
                PolicyConfigKeys.checkKnown(config, "memory tracker 'exact'", Set.of("max-server-memory-usage"));
                long limit = config.containsKey("max-server-memory-usage")
                        ? parseBytes("memory.tracker.exact.max-server-memory-usage", config.get("max-server-memory-usage"))
                        : 0;
                return ExactMemoryTracker.root(context.nodeId().toString(), limit);
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
            public SpillStrategy create(Map<String, String> config, SpillStrategyContext context)
            {
                PolicyConfigKeys.checkKnown(config, "spill strategy 'none'", Set.of());
                return (pool, consumers, bytesToRevoke) -> List.of();
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
            public MemoryLeakDetector create(Map<String, String> config, MemoryLeakDetectorContext context)
            {
                PolicyConfigKeys.checkKnown(config, "memory leak detector 'none'", Set.of());
                return MemoryLeakDetector.NONE;
            }
        });
    }
}
