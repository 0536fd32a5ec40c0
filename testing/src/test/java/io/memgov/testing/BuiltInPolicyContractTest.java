package io.memgov.testing;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.PluginListing;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import org.junit.jupiter.api.Nested;
import java.util.List;


/**
 * The policies built into the engine and the SPI's own {@code NONE}s against their families' contracts, and the
 * engine's built-in plugin (as its registry holds it) against the plugin contract. They run here because the engine's
 * own tests cannot depend on the kit, which depends on the engine. The pool {@code fixed} and the tracker
 * {@code exact} have classes of their own.
 */
final class BuiltInPolicyContractTest
{
    private static final String BUILT_IN_PLUGIN = "BuiltInPlugin";

    /** The factory the engine registered under {@code name}, read from a started engine's registry. */
    static <F extends PolicyFactory<C, P>, C extends PolicyContext, P> F builtIn(PolicyFamily<F, C, P> family, String name)
    {
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().build()) {
            return family.factoryType().cast(engine.plugins().find(family, name)
                    .orElseThrow(() -> new AssertionError("no built-in " + family.displayName() + " named " + name))
                    .factory());
        }
    }

    /** The engine's built-in plugin as its registry holds it: every factory the engine registers itself. */
    private static MemoryPlugin builtInPlugin()
    {
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().build()) {
            PluginListing registry = engine.plugins();
            List<MemoryPoolFactory> pools = builtIns(registry, PolicyFamily.POOL);
            List<MemoryTrackerFactory> trackers = builtIns(registry, PolicyFamily.TRACKER);
            List<LowMemoryKillerFactory> killers = builtIns(registry, PolicyFamily.QUERY_KILLER);
            List<SpillStrategyFactory> spillStrategies = builtIns(registry, PolicyFamily.SPILL_STRATEGY);
            List<MemoryLeakDetectorFactory> leakDetectors = builtIns(registry, PolicyFamily.LEAK_DETECTOR);
            List<MemoryPoolAssignerFactory> assigners = builtIns(registry, PolicyFamily.POOL_ASSIGNER);
            return new MemoryPlugin()
            {
                @Override
                public List<MemoryPoolFactory> memoryPoolFactories()
                {
                    return pools;
                }

                @Override
                public List<MemoryTrackerFactory> memoryTrackerFactories()
                {
                    return trackers;
                }

                @Override
                public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
                {
                    return killers;
                }

                @Override
                public List<SpillStrategyFactory> spillStrategyFactories()
                {
                    return spillStrategies;
                }

                @Override
                public List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
                {
                    return leakDetectors;
                }

                @Override
                public List<MemoryPoolAssignerFactory> memoryPoolAssignerFactories()
                {
                    return assigners;
                }
            };
        }
    }

    private static <F extends PolicyFactory<C, P>, C extends PolicyContext, P> List<F> builtIns(PluginListing registry, PolicyFamily<F, C, P> family)
    {
        return registry.all().getOrDefault(family, List.of()).stream()
                .filter(registration -> registration.pluginName().equals(BUILT_IN_PLUGIN))
                .map(registration -> family.factoryType().cast(registration.factory()))
                .toList();
    }

    @Nested
    final class BuiltInPlugin
            extends MemoryPluginContract
    {
        private final MemoryPlugin plugin = builtInPlugin();

        @Override
        protected MemoryPlugin plugin()
        {
            return plugin;
        }

        // the engine registers it itself
        @Override
        protected boolean isListedForTheServiceLoader()
        {
            return false;
        }
    }

    @Nested
    final class NoneAssigner
            extends MemoryPoolAssignerContract
    {
        @Override
        protected MemoryPoolAssigner newAssigner()
        {
            return builtIn(PolicyFamily.POOL_ASSIGNER, "none").create(PolicyConfig.empty(), new TestingClusterContext());
        }
    }

    @Nested
    final class NoneAssignerOnTwoPools
            extends MemoryPoolAssignerContract
    {
        @Override
        protected MemoryPoolAssigner newAssigner()
        {
            return MemoryPoolAssigner.NONE;
        }

        @Override
        protected List<String> poolIds()
        {
            return List.of("general", "reserved");
        }
    }

    @Nested
    final class NoneSpillStrategy
            extends SpillStrategyContract
    {
        @Override
        protected SpillStrategy newStrategy()
        {
            return SpillStrategy.NONE;
        }
    }

    @Nested
    final class NoneLeakDetector
            extends MemoryLeakDetectorContract
    {
        @Override
        protected MemoryLeakDetector newDetector(TestingClusterContext context)
        {
            return MemoryLeakDetector.NONE;
        }
    }

    @Nested
    final class NoneKiller
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return LowMemoryKiller.NONE;
        }
    }
}
