package io.memgov.testing;

import io.memgov.engine.MemoryEngine;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerContext;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import org.junit.jupiter.api.Nested;

import java.util.List;

/**
 * The policies built into the engine (as its registry hands them out) and the SPI's own {@code NONE}s, against their
 * families' contracts. They run here because the engine's own tests cannot depend on the kit, which depends on the
 * engine.
 */
final class BuiltInPolicyContractTest
{
    /** The factory the engine registered under {@code name}, read from a started engine's registry. */
    static <F extends PolicyFactory<C, P>, C extends PolicyContext, P> F builtIn(PolicyFamily<F, C, P> family, String name)
    {
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().build()) {
            return engine.plugins().require(family, name).factory();
        }
    }

    @Nested
    final class FixedPoolFactory
            extends PolicyFactoryContract<MemoryPoolFactory, MemoryPoolContext, MemoryPoolLayout>
    {
        @Override
        protected PolicyFamily<MemoryPoolFactory, MemoryPoolContext, MemoryPoolLayout> family()
        {
            return PolicyFamily.POOL;
        }

        @Override
        protected MemoryPoolFactory factory()
        {
            return builtIn(PolicyFamily.POOL, "fixed");
        }

        @Override
        protected MemoryPoolContext context()
        {
            return TestingNodeContext.create();
        }
    }

    @Nested
    final class ExactTrackerFactory
            extends PolicyFactoryContract<MemoryTrackerFactory, MemoryTrackerContext, MemoryTracker>
    {
        @Override
        protected PolicyFamily<MemoryTrackerFactory, MemoryTrackerContext, MemoryTracker> family()
        {
            return PolicyFamily.TRACKER;
        }

        @Override
        protected MemoryTrackerFactory factory()
        {
            return builtIn(PolicyFamily.TRACKER, "exact");
        }

        @Override
        protected MemoryTrackerContext context()
        {
            return TestingNodeContext.create();
        }
    }

    @Nested
    final class NoneSpillStrategyFactory
            extends PolicyFactoryContract<SpillStrategyFactory, SpillStrategyContext, SpillStrategy>
    {
        @Override
        protected PolicyFamily<SpillStrategyFactory, SpillStrategyContext, SpillStrategy> family()
        {
            return PolicyFamily.SPILL_STRATEGY;
        }

        @Override
        protected SpillStrategyFactory factory()
        {
            return builtIn(PolicyFamily.SPILL_STRATEGY, "none");
        }

        @Override
        protected SpillStrategyContext context()
        {
            return TestingNodeContext.create();
        }
    }

    @Nested
    final class NoneLeakDetectorFactory
            extends PolicyFactoryContract<MemoryLeakDetectorFactory, MemoryLeakDetectorContext, MemoryLeakDetector>
    {
        @Override
        protected PolicyFamily<MemoryLeakDetectorFactory, MemoryLeakDetectorContext, MemoryLeakDetector> family()
        {
            return PolicyFamily.LEAK_DETECTOR;
        }

        @Override
        protected MemoryLeakDetectorFactory factory()
        {
            return builtIn(PolicyFamily.LEAK_DETECTOR, "none");
        }

        @Override
        protected MemoryLeakDetectorContext context()
        {
            return new TestingClusterContext();
        }
    }

    @Nested
    final class NoneAssignerFactory
            extends PolicyFactoryContract<MemoryPoolAssignerFactory, MemoryPoolAssignerContext, MemoryPoolAssigner>
    {
        @Override
        protected PolicyFamily<MemoryPoolAssignerFactory, MemoryPoolAssignerContext, MemoryPoolAssigner> family()
        {
            return PolicyFamily.POOL_ASSIGNER;
        }

        @Override
        protected MemoryPoolAssignerFactory factory()
        {
            return builtIn(PolicyFamily.POOL_ASSIGNER, "none");
        }

        @Override
        protected MemoryPoolAssignerContext context()
        {
            return new TestingClusterContext();
        }
    }

    @Nested
    final class NoneAssigner
            extends MemoryPoolAssignerContract
    {
        @Override
        protected MemoryPoolAssigner newAssigner()
        {
            return MemoryPoolAssigner.NONE;
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
