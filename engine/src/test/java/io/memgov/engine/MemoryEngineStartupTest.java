package io.memgov.engine;

import io.memgov.engine.ConfigurationException;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Every start-up error of {@link MemoryEngine.Builder#build()} (DESIGN.md "Bootstrap"), asserted on its message: each
 * one must name the key or plugin, the bad value and what is accepted. Also scenario 10 of trino-presto.md §5.
 */
final class MemoryEngineStartupTest
{
    private static MemoryEngine.Builder builder(Map<String, String> properties)
    {
        return MemoryEngine.builder().withoutClassPathDiscovery().properties(properties);
    }

    @Test
    void perNodeLimitPlusHeadroomLargerThanTheHeapFailsStartUp()
    {
        // Scenario 10: Trino's start-up check; the keys are named so that the operator knows what to change
        assertThatThrownBy(() -> builder(Map.of(
                "node.heap-size", "4MB",
                "memory.heap-headroom-per-node", "1MB",
                "query.max-memory-per-node", "4MB")).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid memory configuration. The sum of max query memory per node (4MB, 'query.max-memory-per-node') "
                        + "and heap headroom (1MB, 'memory.heap-headroom-per-node') cannot be larger than the available heap memory (4MB)");
    }

    @Test
    void perNodeTotalLimitPlusHeadroomLargerThanTheHeapFailsStartUpNamingTheTotalLimit()
    {
        // Presto's LocalMemoryManager check: the per-node total limit (user + system) plus headroom must fit the heap
        assertThatThrownBy(() -> builder(Map.of(
                "node.heap-size", "4MB",
                "memory.heap-headroom-per-node", "1MB",
                "query.max-memory-per-node", "2MB",
                "query.max-total-memory-per-node", "4MB")).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid memory configuration. The sum of max total query memory per node (4MB, 'query.max-total-memory-per-node') "
                        + "and heap headroom (1MB, 'memory.heap-headroom-per-node') cannot be larger than the available heap memory (4MB)");
        // Presto's TestNodeMemoryConfig: a per-node user limit above the total limit is refused
        assertThatThrownBy(() -> builder(Map.of(
                "node.heap-size", "8MB",
                "memory.heap-headroom-per-node", "1MB",
                "query.max-memory-per-node", "3MB",
                "query.max-total-memory-per-node", "2MB")).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value '2MB' for 'query.max-total-memory-per-node': it must be at least 'query.max-memory-per-node' (3MB)");
    }

    @Test
    void engineStartsWithNothingConfiguredButTheHeap()
    {
        // a bare engine (no plugins at all) must start: default killers fall back to none, spill and leak detection to the built-in 'none'
        try (MemoryEngine engine = builder(Map.of("node.heap-size", "100MB")).build()) {
            assertThat(engine.nodes()).hasSize(1);
            assertThat(engine.node(0).pool().maxBytes()).isEqualTo(engine.config().poolBytes()).isEqualTo(70L * 1024 * 1024);
            assertThat(engine.queryKiller().chooseTargetToKill(List.of(), List.of())).isEmpty();
            assertThat(engine.taskKiller().chooseTargetToKill(List.of(), List.of())).isEmpty();
            assertThat(engine.leakDetector().numberOfLeakedQueries()).isZero();
            assertThat(engine.plugins().describe(PolicyFamily.POOL)).containsExactly("fixed (BuiltInPlugin from engine (built in))");
        }
    }

    @Test
    void clusterNodeCountCreatesThatManyNodesEachWithItsOwnPool()
    {
        // an embedded cluster simulates several nodes in one JVM; they must not share a pool
        try (MemoryEngine engine = builder(Map.of("node.heap-size", "10MB", "cluster.node-count", "3")).build()) {
            assertThat(engine.nodes()).extracting(node -> node.nodeId().toString()).containsExactly("node-0", "node-1", "node-2");
            assertThat(engine.node(0).pool()).isNotSameAs(engine.node(1).pool());
            assertThat(engine.spillStrategy(engine.node(2).nodeId())).isNotNull();
        }
    }

    static Stream<Arguments> startUpErrors()
    {
        return Stream.of(
                // an unknown key is usually a typo that would otherwise silently leave a default in force
                arguments(Map.of("query.max-memroy", "1GB"), List.of(
                        "Unknown configuration key 'query.max-memroy' (value '1GB')", "Did you mean 'query.max-memory'?", "Accepted: [",
                        "query.max-memory", "query.max-memory-per-node", "memory.pool.policy", "query.low-memory-killer.policy")),
                // malformed size
                arguments(Map.of("query.max-memory", "lots"), List.of(
                        "Invalid value 'lots' for 'query.max-memory': expected a size such as 512MB, 4GB or a number of bytes")),
                // malformed heap size (percent out of range)
                arguments(Map.of("memory.heap-headroom-per-node", "130%"), List.of(
                        "Invalid value '130%' for 'memory.heap-headroom-per-node'", "between 0% and 100%")),
                // malformed duration
                arguments(Map.of("memory.cluster.poll-interval", "soon"), List.of(
                        "Invalid value 'soon' for 'memory.cluster.poll-interval': expected a duration such as 500ms, 1s or 5m")),
                // a zero poll interval would spin the cluster loop
                arguments(Map.of("memory.cluster.poll-interval", "0s"), List.of(
                        "Invalid value '0s' for 'memory.cluster.poll-interval': expected a duration between 10ms and 1h such as 1s")),
                // issue #17, defect 9: 1ns was accepted and kept a scheduler thread busy with the loop
                arguments(Map.of("memory.cluster.poll-interval", "1ns"), List.of(
                        "Invalid value '1ns' for 'memory.cluster.poll-interval': expected a duration between 10ms and 1h such as 1s")),
                // a ratio outside [0, 1]
                arguments(Map.of("memory-revoking-threshold", "1.5"), List.of(
                        "Invalid value '1.5' for 'memory-revoking-threshold': expected a ratio between 0 and 1 such as 0.9")),
                arguments(Map.of("memory-revoking-target", "-0.1"), List.of(
                        "Invalid value '-0.1' for 'memory-revoking-target': expected a ratio between 0 and 1")),
                // revoking must aim below where it starts, or it would start again at once
                arguments(Map.of("memory-revoking-threshold", "0.5", "memory-revoking-target", "0.8"), List.of(
                        "Invalid value '0.8' for 'memory-revoking-target': it must not be larger than 'memory-revoking-threshold' (0.5)")),
                // malformed node count
                arguments(Map.of("cluster.node-count", "0"), List.of(
                        "Invalid value '0' for 'cluster.node-count': expected a whole number between 1 and 100000")),
                // total per node below user per node can never be reached
                arguments(Map.of("query.max-memory-per-node", "1MB", "query.max-total-memory-per-node", "512kB"), List.of(
                        "Invalid value '512kB' for 'query.max-total-memory-per-node': it must be at least 'query.max-memory-per-node' (1MB)")),
                arguments(Map.of("query.max-memory", "2GB", "query.max-total-memory", "1GB"), List.of(
                        "Invalid value '1GB' for 'query.max-total-memory': it must be at least 'query.max-memory' (2GB)")),
                // an unknown pool lists what is registered
                arguments(Map.of("memory.pool.policy", "nope"), List.of(
                        "Memory pool 'nope' is not registered ('memory.pool.policy'). Available: [fixed (BuiltInPlugin from engine (built in))]")),
                arguments(Map.of("memory.tracker.policy", "nope"), List.of(
                        "Memory tracker 'nope' is not registered ('memory.tracker.policy'). Available: [exact (BuiltInPlugin from engine (built in))]")),
                // a key for a policy that is not selected would otherwise be ignored silently
                arguments(Map.of("memory.pool.other.x", "1"), List.of(
                        "Configuration key 'memory.pool.other.x' does not configure the selected memory pool 'fixed'",
                        "'memory.pool.policy' = 'fixed'", "keys for it start with 'memory.pool.fixed.'")),
                // an unknown key of the selected built-in policy is reported by its factory, through start-up
                arguments(Map.of("memory.pool.fixed.maxsize", "1MB"), List.of(
                        "Failed to create memory pool 'fixed' from BuiltInPlugin from engine (built in)",
                        "Unknown configuration key 'memory.pool.fixed.maxsize' (value '1MB'). Did you mean 'memory.pool.fixed.max-size'? Accepted under 'memory.pool.fixed.': [max-size]")),
                arguments(Map.of("memory.pool.fixed.max-size", "big"), List.of(
                        "Invalid value 'big' for 'memory.pool.fixed.max-size'")),
                // an explicitly selected killer must exist; it does not fall back to none
                arguments(Map.of("query.low-memory-killer.policy", "total-reservation"), List.of(
                        "Low memory killer 'total-reservation' is not registered ('query.low-memory-killer.policy'). Available: []")),
                arguments(Map.of("task.low-memory-killer.policy", "least-waste"), List.of(
                        "Task low memory killer 'least-waste' is not registered ('task.low-memory-killer.policy'). Available: []")),
                // keys for a default policy that is not registered cannot be honoured
                arguments(Map.of("query.low-memory-killer.total-reservation-on-blocked-nodes.x", "1"), List.of(
                        "Configuration keys [query.low-memory-killer.total-reservation-on-blocked-nodes.x] configure the default low memory killer 'total-reservation-on-blocked-nodes', which is not registered")),
                // an explicit plugin directory that is missing is a mistake, not "no plugins"
                arguments(Map.of("plugin.dir", "/nonexistent/memgov-plugins"), List.of(
                        "Plugin directory '/nonexistent/memgov-plugins' ('plugin.dir') does not exist")));
    }

    @ParameterizedTest
    @MethodSource("startUpErrors")
    void startUpFailsWithAMessageNamingTheKeyTheValueAndTheChoices(Map<String, String> properties, List<String> messageParts)
    {
        assertThatThrownBy(() -> builder(withHeap(properties)).build())
                .isInstanceOf(ConfigurationException.class)
                .message().contains(messageParts);
    }

    @Test
    void unknownPolicyListsProgrammaticallyRegisteredPolicies()
    {
        // the list of choices must include what plugins offer, with where each came from
        assertThatThrownBy(() -> builder(withHeap(Map.of("query.low-memory-killer.policy", "total-reservation")))
                .plugin(new KillerPlugin("mine"))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Low memory killer 'total-reservation' is not registered ('query.low-memory-killer.policy'). "
                        + "Available: [mine (KillerPlugin from registered programmatically)]");
    }

    @Test
    void policyNameRegisteredTwiceNamesBothPlugins()
    {
        // two jars offering one name would make the choice depend on class-path order
        assertThatThrownBy(() -> builder(withHeap(Map.of()))
                .plugin(new KillerPlugin("dup"))
                .plugin(new OtherKillerPlugin("dup"))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Low memory killer 'dup' is registered twice: KillerPlugin from registered programmatically "
                        + "and OtherKillerPlugin from registered programmatically");
    }

    @Test
    void pluginReusingABuiltInNameIsRejected()
    {
        // built-in names are reserved: a plugin cannot replace the 'fixed' pool behind the operator's back
        assertThatThrownBy(() -> builder(withHeap(Map.of())).plugin(new PoolPlugin("fixed", null)).build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Memory pool 'fixed' is registered twice: BuiltInPlugin from engine (built in) and PoolPlugin from registered programmatically");
    }

    @Test
    void sameNameInTheQueryAndTaskKillerFamiliesIsNotADuplicate()
    {
        // a plugin may offer a query and a task killer under one name (total-reservation-on-blocked-nodes does)
        try (MemoryEngine engine = builder(withHeap(Map.of(
                "query.low-memory-killer.policy", "dup",
                "task.low-memory-killer.policy", "dup")))
                .plugin(new KillerPlugin("dup"))
                .plugin(new TaskKillerPlugin("dup"))
                .build()) {
            assertThat(engine.queryKiller().toString()).isEqualTo("dup");
            assertThat(engine.taskKiller().toString()).isEqualTo("dup");
        }
    }

    @Test
    void factoryThatThrowsFailsStartUpNamingThePlugin()
    {
        // a broken selected policy must stop the engine, and say which jar to blame
        assertThatThrownBy(() -> builder(withHeap(Map.of("query.low-memory-killer.policy", "boom")))
                .plugin(new ThrowingKillerPlugin())
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Failed to create low memory killer 'boom' from ThrowingKillerPlugin from registered programmatically: kaboom");
    }

    @Test
    void poolFactoryThatThrowsFailsStartUpNamingThePlugin()
    {
        // node-level factories are created inside the injector; the error must still read as the plugin's error
        assertThatThrownBy(() -> builder(withHeap(Map.of("memory.pool.policy", "broken")))
                .plugin(new PoolPlugin("broken", new IllegalStateException("no pool today")))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Failed to create memory pool 'broken' from PoolPlugin from registered programmatically: no pool today");
    }

    @Test
    void factoryReturningNullFailsStartUp()
    {
        // a null policy would only fail later, far from its cause
        assertThatThrownBy(() -> builder(withHeap(Map.of("memory.spill-strategy.policy", "null-spill")))
                .plugin(new NullSpillPlugin())
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Spill strategy 'null-spill' from NullSpillPlugin from registered programmatically returned null from create()");
    }

    @Test
    void pluginThatThrowsWhileListingItsFactoriesFailsStartUp()
    {
        // a programmatic plugin is part of the host; its failure is not a silently skipped provider
        assertThatThrownBy(() -> builder(withHeap(Map.of()))
                .plugin(new MemoryPlugin()
                {
                    @Override
                    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
                    {
                        throw new IllegalStateException("cannot list");
                    }
                })
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("failed while listing its factories")
                .hasMessageContaining("cannot list");
    }

    @Test
    void selectedPolicyReceivesItsKeysWithThePrefixStripped()
    {
        // the contract of every factory: only its own keys, without the '<family>.<policy>.' prefix
        KillerPlugin plugin = new KillerPlugin("mine");
        try (MemoryEngine ignored = builder(withHeap(Map.of(
                "query.low-memory-killer.policy", "mine",
                "query.low-memory-killer.mine.min-free-ratio", "0.1",
                "query.low-memory-killer.mine.other", "x")))
                .plugin(plugin)
                .build()) {
            assertThat(plugin.config.get().asMap()).isEqualTo(Map.of("min-free-ratio", "0.1", "other", "x"));
        }
    }

    @Test
    void poolMaxSizeOverridesHeapMinusHeadroom()
    {
        // memory.pool.fixed.max-size lets tests and embedded hosts size the pool directly
        try (MemoryEngine engine = builder(Map.of("node.heap-size", "10MB", "memory.pool.fixed.max-size", "1234")).build()) {
            assertThat(engine.node(0).pool().maxBytes()).isEqualTo(1234);
        }
    }

    @Test
    void propertiesFileIsReadAndAMissingOneIsAStartUpError(@org.junit.jupiter.api.io.TempDir java.nio.file.Path temp)
            throws java.io.IOException
    {
        // the usual deployment: one etc/memgov.properties file
        java.nio.file.Path file = java.nio.file.Files.writeString(temp.resolve("memgov.properties"),
                "# comment\nnode.heap-size=10MB\nmemory.pool.fixed.max-size=4321\n");
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().propertiesFile(file).build()) {
            assertThat(engine.node(0).pool().maxBytes()).isEqualTo(4321);
        }
        java.nio.file.Path missing = temp.resolve("missing.properties");
        assertThatThrownBy(() -> MemoryEngine.builder().propertiesFile(missing))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Cannot read configuration file '" + missing.toAbsolutePath() + "'");
    }

    private static Map<String, String> withHeap(Map<String, String> properties)
    {
        Map<String, String> result = new java.util.HashMap<>(properties);
        result.putIfAbsent("node.heap-size", "1GB");
        return result;
    }

    static class KillerPlugin
            implements MemoryPlugin
    {
        final String name;
        final AtomicReference<PolicyConfig> config = new AtomicReference<>();

        KillerPlugin(String name)
        {
            this.name = name;
        }

        KillerScope scope()
        {
            return KillerScope.QUERY;
        }

        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            List<LowMemoryKillerFactory> factories = new ArrayList<>();
            factories.add(new LowMemoryKillerFactory()
            {
                @Override
                public String name()
                {
                    return name;
                }

                @Override
                public KillerScope scope()
                {
                    return KillerPlugin.this.scope();
                }

                @Override
                public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                {
                    KillerPlugin.this.config.set(config);
                    return (queries, nodes) -> Optional.empty();
                }
            });
            return factories;
        }
    }

    static final class OtherKillerPlugin
            extends KillerPlugin
    {
        OtherKillerPlugin(String name)
        {
            super(name);
        }
    }

    static final class TaskKillerPlugin
            extends KillerPlugin
    {
        TaskKillerPlugin(String name)
        {
            super(name);
        }

        @Override
        KillerScope scope()
        {
            return KillerScope.TASK;
        }
    }

    static final class ThrowingKillerPlugin
            implements MemoryPlugin
    {
        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            return List.of(new LowMemoryKillerFactory()
            {
                @Override
                public String name()
                {
                    return "boom";
                }

                @Override
                public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                {
                    throw new IllegalArgumentException("kaboom");
                }
            });
        }
    }

    static final class PoolPlugin
            implements MemoryPlugin
    {
        private final String name;
        private final RuntimeException failure;

        PoolPlugin(String name, RuntimeException failure)
        {
            this.name = name;
            this.failure = failure;
        }

        @Override
        public List<MemoryPoolFactory> memoryPoolFactories()
        {
            return List.of(new MemoryPoolFactory()
            {
                @Override
                public String name()
                {
                    return name;
                }

                @Override
                public MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context)
                {
                    if (failure != null) {
                        throw failure;
                    }
                    return MemoryPoolLayout.of(context.createStandardPool("general", context.poolBytes()));
                }
            });
        }
    }

    static final class NullSpillPlugin
            implements MemoryPlugin
    {
        @Override
        public List<SpillStrategyFactory> spillStrategyFactories()
        {
            return List.of(new SpillStrategyFactory()
            {
                @Override
                public String name()
                {
                    return "null-spill";
                }

                @Override
                public SpillStrategy create(PolicyConfig config, SpillStrategyContext context)
                {
                    return null;
                }
            });
        }
    }
}
