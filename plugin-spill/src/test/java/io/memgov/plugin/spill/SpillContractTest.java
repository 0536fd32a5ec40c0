package io.memgov.plugin.spill;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.testing.PolicyFactoryContract;
import io.memgov.testing.SpillStrategyContract;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Nested;

import java.util.Map;
import java.util.Optional;

/** Every strategy the plugin offers, as it offers them, against the spill-strategy and factory contracts. */
final class SpillContractTest
{
    private static SpillStrategy strategy(String name, Map<String, String> config)
    {
        return SpillPluginTest.factory(name).create(PolicyConfig.of(PolicyFamily.SPILL_STRATEGY.configPrefix(name), config), TestingNodeContext.create());
    }

    @Nested
    final class Threshold
            extends SpillStrategyContract
    {
        @Override
        protected SpillStrategy newStrategy()
        {
            return strategy("threshold", Map.of());
        }
    }

    @Nested
    final class LargestFirst
            extends SpillStrategyContract
    {
        @Override
        protected SpillStrategy newStrategy()
        {
            return strategy("largest-first", Map.of());
        }
    }

    @Nested
    final class SmallestSufficient
            extends SpillStrategyContract
    {
        @Override
        protected SpillStrategy newStrategy()
        {
            return strategy("smallest-sufficient", Map.of());
        }
    }

    @Nested
    final class FairShare
            extends SpillStrategyContract
    {
        @Override
        protected SpillStrategy newStrategy()
        {
            return strategy("fair-share", Map.of());
        }
    }

    @Nested
    final class PerTaskThreshold
            extends SpillStrategyContract
    {
        @Override
        protected SpillStrategy newStrategy()
        {
            return strategy("per-task-threshold", Map.of());
        }
    }

    @Nested
    final class PerTaskThresholdOfFiftyBytes
            extends SpillStrategyContract
    {
        // a threshold the scenarios' tasks pass, so that the strategy asks someone
        @Override
        protected SpillStrategy newStrategy()
        {
            return strategy("per-task-threshold", Map.of("task-threshold", "50B"));
        }
    }

    @Nested
    final class ThresholdFactory
            extends SpillFactoryContract
    {
        ThresholdFactory()
        {
            super("threshold");
        }
    }

    @Nested
    final class LargestFirstFactory
            extends SpillFactoryContract
    {
        LargestFirstFactory()
        {
            super("largest-first");
        }
    }

    @Nested
    final class SmallestSufficientFactory
            extends SpillFactoryContract
    {
        SmallestSufficientFactory()
        {
            super("smallest-sufficient");
        }
    }

    @Nested
    final class FairShareFactory
            extends SpillFactoryContract
    {
        FairShareFactory()
        {
            super("fair-share");
        }
    }

    @Nested
    final class PerTaskThresholdFactory
            extends SpillFactoryContract
    {
        PerTaskThresholdFactory()
        {
            super("per-task-threshold");
        }
    }

    private abstract static class SpillFactoryContract
            extends PolicyFactoryContract<SpillStrategyFactory, SpillStrategyContext, SpillStrategy>
    {
        private final String name;

        SpillFactoryContract(String name)
        {
            this.name = name;
        }

        @Override
        protected PolicyFamily<SpillStrategyFactory, SpillStrategyContext, SpillStrategy> family()
        {
            return PolicyFamily.SPILL_STRATEGY;
        }

        @Override
        protected SpillStrategyFactory factory()
        {
            return SpillPluginTest.factory(name);
        }

        @Override
        protected SpillStrategyContext context()
        {
            return TestingNodeContext.create();
        }

        @Override
        protected Optional<MemoryPlugin> plugin()
        {
            return Optional.of(new SpillPlugin());
        }
    }
}
