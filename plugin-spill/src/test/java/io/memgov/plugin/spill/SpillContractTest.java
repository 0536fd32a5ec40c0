package io.memgov.plugin.spill;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.SpillStrategyContract;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Nested;

import java.util.Map;

/** Every strategy the plugin offers, as it offers them, against the spill-strategy contract, and the plugin against the plugin contract. */
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
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new SpillPlugin();
        }
    }
}
