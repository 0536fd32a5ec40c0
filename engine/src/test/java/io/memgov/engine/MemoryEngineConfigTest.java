package io.memgov.engine;

import io.memgov.engine.ConfigurationException;
import io.memgov.spi.PolicyFamily;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import io.memgov.spi.query.NodeId;



/**
 * The defaults of {@link MemoryEngineConfig} (DESIGN.md "Configuration", Trino's names and defaults) and a mapping of
 * every key.
 */
final class MemoryEngineConfigTest
{
    private static final long GB = 1024L * 1024 * 1024;
    private static final long MB = 1024L * 1024;

    @Test
    void defaults()
    {
        // percentages resolve against node.heap-size, so the defaults are deterministic whatever -Xmx the test JVM has
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(Map.of("node.heap-size", "10GB"), PolicyFamily.values(), 16 * GB);

        assertThat(config.heapBytes()).isEqualTo(10 * GB);
        assertThat(config.headroomBytes()).isEqualTo(3 * GB);
        assertThat(config.poolBytes()).isEqualTo(7 * GB);
        assertThat(config.maxQueryMemoryPerNode()).isEqualTo(3 * GB);
        assertThat(config.maxQueryTotalMemoryPerNode()).isEmpty();
        assertThat(config.maxQueryMemory()).isEqualTo(20 * GB);
        assertThat(config.maxQueryTotalMemory()).isEqualTo(40 * GB);
        assertThat(config.killerDelay()).isEqualTo(Duration.ZERO);
        assertThat(config.revokingThreshold()).isEqualTo(0.9);
        assertThat(config.revokingTarget()).isEqualTo(0.5);
        assertThat(config.pollInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.pluginDir()).isEqualTo(Path.of("plugins"));
        assertThat(config.pluginDirExplicit()).isFalse();
        assertThat(config.nodeCount()).isEqualTo(1);
        assertThat(config.heapGoverned()).isTrue();
        assertThat(config.policyCallTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.reservationQuantum()).isEqualTo(ReservationQuantum.adaptive());
        // no direct pool: direct memory counts in the heap pools, as before kinds
        assertThat(config.directMemoryBytes()).isZero();
        assertThat(config.maxQueryDirectMemoryPerNode()).isEqualTo(Long.MAX_VALUE);
        // the defaults themselves belong to the families (PolicyFamilyTest); the configuration selects nothing explicitly
        assertThat(config.families()).isEqualTo(PolicyFamily.values());
        for (PolicyFamily<?, ?, ?> family : PolicyFamily.values()) {
            assertThat(config.explicitPolicy(family)).as(family.toString()).isEmpty();
            assertThat(config.familyKeys(family)).as(family.toString()).isEmpty();
        }
    }

    @Test
    void heapDefaultsToTheJvmMaximum()
    {
        // without node.heap-size the engine governs this JVM's heap, as Trino does
        assertThat(MemoryEngineConfig.fromMap(Map.of()).heapBytes()).isEqualTo(Runtime.getRuntime().maxMemory());
    }

    @Test
    void nodesSharingTheJvmShareItsHeapByDefault()
    {
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(Map.of("cluster.node-count", "3"), PolicyFamily.values(), 3 * GB);

        assertThat(config.heapBytes()).isEqualTo(GB);
        assertThat(config.jvmMaxHeapBytes()).isEqualTo(3 * GB);
    }

    @Test
    void nodeHeapsAddingUpToMoreThanTheMaxHeapAreRefusedNamingTheKeyTheValueAndTheMaxHeap()
    {
        // one node larger than the heap (node.heap-size=1PB under -Xmx128m was accepted)
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.heap-size", "1PB"), PolicyFamily.values(), 128 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("'1PB'")
                .hasMessageContaining("'node.heap-size'")
                .hasMessageContaining("128MB")
                .hasMessageContaining("node.heap-governed=false");
        // three nodes of 48MB in a 128MB heap (they ran, and threw 18 JVM OutOfMemoryErrors)
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.heap-size", "48MB", "cluster.node-count", "3"), PolicyFamily.values(), 128 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("'48MB'")
                .hasMessageContaining("3 nodes of 48MB")
                .hasMessageContaining("128MB")
                .hasMessageContaining("at most 42.67MB per node");
        // exactly the heap is fine
        assertThat(MemoryEngineConfig.fromMap(Map.of("node.heap-size", "32MB", "cluster.node-count", "4"), PolicyFamily.values(), 128 * MB).heapBytes())
                .isEqualTo(32 * MB);
    }

    @Test
    void nodeIdNamesTheOneNodeOfAProcess()
    {
        assertThat(MemoryEngineConfig.fromMap(Map.of()).nodeId(0)).isEqualTo(NodeId.of("node-0"));
        assertThat(MemoryEngineConfig.fromMap(Map.of("cluster.node-count", "2", "node.heap-size", "1MB")).nodeId(1)).isEqualTo(NodeId.of("node-1"));
        assertThat(MemoryEngineConfig.fromMap(Map.of("node.id", "worker-7")).nodeId(0)).isEqualTo(NodeId.of("worker-7"));

        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.id", "worker 7")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value 'worker 7' for 'node.id': nodeId must be non-empty and contain only letters, digits, '_' and '-': 'worker 7'");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.id", "worker-7", "cluster.node-count", "3", "node.heap-size", "1MB")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Invalid value 'worker-7' for 'node.id': it names the one node of a process, but 'cluster.node-count' is 3");
    }

    @Test
    void nodesThatDoNotGovernTheHeapMaySimulateMoreThanIt()
    {
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(Map.of("node.heap-size", "1PB", "cluster.node-count", "3", "node.heap-governed", "false"),
                PolicyFamily.values(), 128 * MB);

        assertThat(config.heapBytes()).isEqualTo(1L << 50);
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.heap-governed", "yes"), PolicyFamily.values(), 128 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value 'yes' for 'node.heap-governed': expected true or false");
    }

    @Test
    void policyCallTimeoutIsZeroOrBetweenTenMillisecondsAndAnHour()
    {
        assertThat(MemoryEngineConfig.fromMap(Map.of("policy.call-timeout", "0")).policyCallTimeout()).isZero();
        assertThat(MemoryEngineConfig.fromMap(Map.of("policy.call-timeout", "10ms")).policyCallTimeout()).isEqualTo(Duration.ofMillis(10));
        for (String bad : new String[] {"1ms", "2h"}) {
            assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("policy.call-timeout", bad)))
                    .isInstanceOf(ConfigurationException.class)
                    .hasMessageStartingWith("Invalid value '" + bad + "' for 'policy.call-timeout': expected 0")
                    .hasMessageContaining("between 10ms and 1h");
        }
    }

    @Test
    void reservationQuantumIsAdaptiveExactOrASizeUpToOneGigabyte()
    {
        assertThat(MemoryEngineConfig.fromMap(Map.of("memory.reservation-quantum", "adaptive")).reservationQuantum().isAdaptive()).isTrue();
        assertThat(MemoryEngineConfig.fromMap(Map.of("memory.reservation-quantum", "0B")).reservationQuantum().isExact()).isTrue();
        assertThat(MemoryEngineConfig.fromMap(Map.of("memory.reservation-quantum", "1GB")).reservationQuantum().fixedBytes()).isEqualTo(GB);
        for (String bad : new String[] {"Adaptive", "2GB", "-1MB", "fast"}) {
            assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("memory.reservation-quantum", bad)))
                    .isInstanceOf(ConfigurationException.class)
                    .hasMessageStartingWith("Invalid value '" + bad + "' for 'memory.reservation-quantum': expected adaptive")
                    .hasMessageContaining("0B")
                    .hasMessageContaining("up to 1GB");
        }
    }

    @Test
    void theDirectPoolIsASizeOrAutoAndItsPerQueryLimitDefaultsToTheWholePool()
    {
        Map<String, String> heap = Map.of("node.heap-size", "64MB");
        MemoryEngineConfig sized = MemoryEngineConfig.fromMap(with(heap, "node.direct-memory-size", "256MB"), PolicyFamily.values(), 128 * MB, 0);
        assertThat(sized.directMemoryBytes()).isEqualTo(256 * MB);
        assertThat(sized.maxQueryDirectMemoryPerNode()).isEqualTo(256 * MB);
        // auto: the JVM's direct memory limit, shared equally by the nodes of this JVM
        MemoryEngineConfig auto = MemoryEngineConfig.fromMap(Map.of("node.direct-memory-size", "auto", "cluster.node-count", "2",
                "query.max-direct-memory-per-node", "50%"), PolicyFamily.values(), 128 * MB, 64 * MB);
        assertThat(auto.directMemoryBytes()).isEqualTo(32 * MB);
        assertThat(auto.maxQueryDirectMemoryPerNode()).isEqualTo(16 * MB);
        // a share of it: room for direct buffers nobody reserves
        assertThat(MemoryEngineConfig.fromMap(Map.of("node.direct-memory-size", "75%", "cluster.node-count", "2"), PolicyFamily.values(), 128 * MB, 64 * MB)
                .directMemoryBytes()).isEqualTo(24 * MB);
        // the JDK 17 rule this JVM follows: the flag where given, else the max heap; this test JVM sets no flag
        assertThat(MemoryEngineConfig.jvmMaxDirectMemoryBytes()).isEqualTo(Runtime.getRuntime().maxMemory());
    }

    @Test
    void aBadDirectPoolOrDirectLimitIsRefusedNamingTheKeyTheValueAndWhatIsAccepted()
    {
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.direct-memory-size", "lots"), PolicyFamily.values(), 128 * MB, 64 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value 'lots' for 'node.direct-memory-size': expected 0B (no direct pool: direct memory counts in the heap pools), "
                        + "a size such as 256MB, auto (-XX:MaxDirectMemorySize, or the max heap where the flag is not set, divided by 'cluster.node-count') "
                        + "or a share of that such as 75%");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.direct-memory-size", "150%"), PolicyFamily.values(), 128 * MB, 64 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Invalid value '150%' for 'node.direct-memory-size': expected 0B");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.direct-memory-size", "auto"), PolicyFamily.values(), 128 * MB, 0))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value 'auto' for 'node.direct-memory-size': this JVM allows 0B of direct memory (-XX:MaxDirectMemorySize) for 1 node(s); "
                        + "expected a larger -XX:MaxDirectMemorySize, a size such as 256MB, or 0B for no direct pool");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("query.max-direct-memory-per-node", "1GB"), PolicyFamily.values(), 128 * MB, 64 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value '1GB' for 'query.max-direct-memory-per-node': the nodes have no direct pool ('node.direct-memory-size' is 0B), "
                        + "so there is no direct memory to limit; set 'node.direct-memory-size' too, or remove 'query.max-direct-memory-per-node'");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.direct-memory-size", "64MB", "query.max-direct-memory-per-node", "65MB"),
                PolicyFamily.values(), 128 * MB, 64 * MB))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value '65MB' for 'query.max-direct-memory-per-node': expected a positive size up to the direct pool's 64MB "
                        + "('node.direct-memory-size'), or a share of it such as 50%");
    }

    private static Map<String, String> with(Map<String, String> properties, String key, String value)
    {
        Map<String, String> all = new HashMap<>(properties);
        all.put(key, value);
        return all;
    }

    @Test
    void everyKeyIsMapped()
    {
        Map<String, String> properties = Map.ofEntries(
                entry("node.heap-size", "16GB"),
                entry("memory.heap-headroom-per-node", "2GB"),
                entry("query.max-memory-per-node", "4GB"),
                entry("query.max-total-memory-per-node", "6GB"),
                entry("query.max-memory", "50GB"),
                entry("query.max-total-memory", "60GB"),
                entry("query.low-memory-killer.delay", "5m"),
                entry("memory-revoking-threshold", "0.8"),
                entry("memory-revoking-target", "0.4"),
                entry("memory.cluster.poll-interval", "500ms"),
                entry("plugin.dir", "/opt/memgov/plugins"),
                entry("cluster.node-count", "3"),
                entry("memory.pool.policy", "reserve-mode"),
                entry("memory.pool.reserve-mode.reserve", "1GB"),
                entry("memory.tracker.policy", "thread-batched"),
                entry("memory.tracker.thread-batched.batch-size", "4MB"),
                entry("query.low-memory-killer.policy", "total-reservation"),
                entry("query.low-memory-killer.total-reservation.x", "1"),
                entry("task.low-memory-killer.policy", "least-waste"),
                entry("task.low-memory-killer.least-waste.y", "2"),
                entry("memory.spill-strategy.policy", "oldest-first"),
                entry("memory.spill-strategy.oldest-first.z", "3"),
                entry("memory.leak-detector.policy", "none"),
                entry("node.heap-governed", "false"),
                entry("policy.call-timeout", "250ms"),
                entry("memory.reservation-quantum", "2MB"),
                entry("node.direct-memory-size", "3GB"),
                entry("query.max-direct-memory-per-node", "1GB"));
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(properties);
        assertThat(config.directMemoryBytes()).isEqualTo(3 * GB);
        assertThat(config.maxQueryDirectMemoryPerNode()).isEqualTo(GB);

        assertThat(config.heapBytes()).isEqualTo(16 * GB);
        assertThat(config.headroomBytes()).isEqualTo(2 * GB);
        assertThat(config.poolBytes()).isEqualTo(14 * GB);
        assertThat(config.maxQueryMemoryPerNode()).isEqualTo(4 * GB);
        assertThat(config.maxQueryTotalMemoryPerNode()).isEqualTo(Optional.of(6 * GB));
        assertThat(config.maxQueryMemory()).isEqualTo(50 * GB);
        assertThat(config.maxQueryTotalMemory()).isEqualTo(60 * GB);
        assertThat(config.killerDelay()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.revokingThreshold()).isEqualTo(0.8);
        assertThat(config.revokingTarget()).isEqualTo(0.4);
        assertThat(config.pollInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(config.pluginDir()).isEqualTo(Path.of("/opt/memgov/plugins"));
        assertThat(config.pluginDirExplicit()).isTrue();
        assertThat(config.nodeCount()).isEqualTo(3);
        assertThat(config.heapGoverned()).isFalse();
        assertThat(config.policyCallTimeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(config.reservationQuantum()).isEqualTo(ReservationQuantum.fixed(2 * MB));
        assertThat(config.explicitPolicy(PolicyFamily.POOL)).contains("reserve-mode");
        assertThat(config.explicitPolicy(PolicyFamily.TRACKER)).contains("thread-batched");
        assertThat(config.explicitPolicy(PolicyFamily.QUERY_KILLER)).contains("total-reservation");
        assertThat(config.explicitPolicy(PolicyFamily.TASK_KILLER)).contains("least-waste");
        assertThat(config.explicitPolicy(PolicyFamily.SPILL_STRATEGY)).contains("oldest-first");
        assertThat(config.explicitPolicy(PolicyFamily.LEAK_DETECTOR)).contains("none");
        assertThat(config.policyConfig(PolicyFamily.POOL, "reserve-mode").asMap()).isEqualTo(Map.of("reserve", "1GB"));
        assertThat(config.policyConfig(PolicyFamily.POOL, "reserve-mode").prefix()).isEqualTo("memory.pool.reserve-mode.");
        assertThat(config.policyConfig(PolicyFamily.TRACKER, "thread-batched").asMap()).isEqualTo(Map.of("batch-size", "4MB"));
        // the task killer's keys must not be taken for the query killer's, though both end in 'low-memory-killer'
        assertThat(config.policyConfig(PolicyFamily.QUERY_KILLER, "total-reservation").asMap()).isEqualTo(Map.of("x", "1"));
        assertThat(config.policyConfig(PolicyFamily.TASK_KILLER, "least-waste").asMap()).isEqualTo(Map.of("y", "2"));
        assertThat(config.policyConfig(PolicyFamily.SPILL_STRATEGY, "oldest-first").asMap()).isEqualTo(Map.of("z", "3"));
        assertThat(config.policyConfig(PolicyFamily.LEAK_DETECTOR, "none").asMap()).isEmpty();

        // a Properties object maps the same way
        Properties asProperties = new Properties();
        asProperties.putAll(properties);
        MemoryEngineConfig fromProperties = MemoryEngineConfig.fromProperties(asProperties);
        assertThat(fromProperties.policyConfig(PolicyFamily.TASK_KILLER, "least-waste").asMap()).isEqualTo(Map.of("y", "2"));
        assertThat(fromProperties.maxQueryTotalMemory()).isEqualTo(60 * GB);
    }

    @ParameterizedTest
    @CsvSource({
            // percentages are of node.heap-size
            "25%, 256",
            "0%, 0",
            "100%, 1024",
            // absolute sizes with Trino's units; plain digits are bytes
            "100MB, 100",
            "1GB, 1024",
            "1048576, 1",
    })
    void heapSizesAcceptPercentagesAndAbsoluteSizes(String value, long expectedMegabytes)
    {
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(Map.of(
                "node.heap-size", "1GB",
                "memory.heap-headroom-per-node", "0B",
                "query.max-memory-per-node", value));
        assertThat(config.maxQueryMemoryPerNode()).isEqualTo(expectedMegabytes * MB);
    }

    @Test
    void maxTotalMemoryDefaultSaturatesInsteadOfOverflowing()
    {
        // twice a huge max-memory must not wrap to a negative limit
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(Map.of("node.heap-size", "1GB", "query.max-memory", String.valueOf(Long.MAX_VALUE / 2 + 1)));
        assertThat(config.maxQueryTotalMemory()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void malformedValuesFailWithTheSpisMessages()
    {
        // one grammar for engine and plugins (PolicyConfig); the engine surfaces its messages as start-up errors
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("query.max-memory", "12 parsecs")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value '12 parsecs' for 'query.max-memory': expected a size such as 512MB, 4GB or a number of bytes (units B, kB, MB, GB, TB, PB)");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.heap-size", "1GB", "memory.heap-headroom-per-node", "x%")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Invalid value 'x%' for 'memory.heap-headroom-per-node'");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("query.low-memory-killer.delay", "later")))
                .hasMessage("Invalid value 'later' for 'query.low-memory-killer.delay': expected a duration such as 500ms, 1s or 5m");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("memory-revoking-threshold", "NaN")))
                .hasMessage("Invalid value 'NaN' for 'memory-revoking-threshold': expected a ratio between 0 and 1 such as 0.9, or a percentage such as 90%");
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("cluster.node-count", "-3")))
                .hasMessage("Invalid value '-3' for 'cluster.node-count': expected a whole number between 1 and 100000");
        assertThat(MemoryEngineConfig.fromMap(Map.of("memory-revoking-threshold", "95%", "memory-revoking-target", "0.5")).revokingThreshold()).isEqualTo(0.95);
    }

    @Test
    void emptyPolicyNameIsRejected()
    {
        // an empty value is almost always a templating mistake
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.heap-size", "1GB", "memory.pool.policy", " ")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value '' for 'memory.pool.policy': expected a policy name");
    }

    @Test
    void nonPositiveHeapIsRejected()
    {
        assertThatThrownBy(() -> MemoryEngineConfig.fromMap(Map.of("node.heap-size", "0B")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value '0B' for 'node.heap-size': expected a positive size");
    }
}
