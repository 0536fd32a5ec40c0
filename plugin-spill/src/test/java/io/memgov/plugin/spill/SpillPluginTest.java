package io.memgov.plugin.spill;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.SpillStrategyFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import static io.memgov.plugin.spill.SpillStrategyTesting.context;
import static io.memgov.plugin.spill.SpillStrategyTesting.pool;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class SpillPluginTest
{
    @Test
    void isDiscoveredThroughServiceLoader()
    {
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class, SpillPlugin.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get)
                .toList();

        assertThat(plugins).hasAtLeastOneElementOfType(SpillPlugin.class);
    }

    @Test
    void offersTheFiveStrategiesAndNothingElse()
    {
        SpillPlugin plugin = new SpillPlugin();

        assertThat(plugin.spillStrategyFactories()).extracting(SpillStrategyFactory::name)
                .containsExactly("threshold", "largest-first", "smallest-sufficient", "fair-share", "per-task-threshold");
        assertThat(plugin.memoryPoolFactories()).isEmpty();
        assertThat(plugin.lowMemoryKillerFactories()).isEmpty();
        assertThat(plugin.memoryTrackerFactories()).isEmpty();
        assertThat(plugin.memoryLeakDetectorFactories()).isEmpty();
    }

    @Test
    void everyStrategyIsCreatedFromAnEmptyConfigAndChoosesNothingWithoutConsumers()
    {
        for (SpillStrategyFactory factory : new SpillPlugin().spillStrategyFactories()) {
            assertThat(factory.create(PolicyConfig.empty(), context()).chooseConsumersToRevoke(pool(100, 0, 0), List.of(), 10))
                    .as(factory.name())
                    .isEmpty();
        }
    }

    @Test
    void rejectsAnUnknownKeyNamingTheKeyTheValueAndTheAcceptedKeys()
    {
        // a misspelt key must fail start-up instead of silently keeping the default
        assertThatThrownBy(() -> factory("per-task-threshold").create(PolicyConfig.of("memory.spill-strategy.per-task-threshold.", Map.of("task-treshold", "1GB")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'memory.spill-strategy.per-task-threshold.task-treshold' (value '1GB'). "
                        + "Did you mean 'memory.spill-strategy.per-task-threshold.task-threshold'? Accepted under 'memory.spill-strategy.per-task-threshold.': [task-threshold]");
        assertThatThrownBy(() -> factory("threshold").create(PolicyConfig.of("memory.spill-strategy.threshold.", Map.of("target", "0.5")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'memory.spill-strategy.threshold.target' (value '0.5'). No keys are accepted under 'memory.spill-strategy.threshold.'");
    }

    static SpillStrategyFactory factory(String name)
    {
        return new SpillPlugin().spillStrategyFactories().stream()
                .filter(factory -> factory.name().equals(name))
                .findFirst()
                .orElseThrow();
    }
}
