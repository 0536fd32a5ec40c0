package io.memgov.lab;

import io.memgov.engine.MemoryEngineConfig;
import io.memgov.lab.SweepSettings.Derived;
import io.memgov.lab.SweepSettings.Governance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * What the sweep gives its children: memgov's heap defaults when governed, every reservation granted when not; how it
 * reads the children's GC logs; and bad arguments refused before any child starts or any file is written.
 */
final class SweepSettingsTest
{
    // etc/workloads/oversubscribed.yaml's properties over the lab's configuration, plus a heap setting
    private static final Map<String, String> OVERSUBSCRIBED = Map.of(
            "cluster.node-count", "2",
            "node.heap-size", "64MB",
            "memory.heap-headroom-per-node", "16MB",
            "memory.heap.gc-time-threshold", "0.3",
            "query.max-memory-per-node", "40MB",
            "query.max-memory", "80MB",
            "task.low-memory-killer.policy", "none",
            "query.low-memory-killer.policy", "total-reservation-on-blocked-nodes");

    @TempDir
    Path directory;

    @Test
    void governedDropsTheHeapSettingsAndTurnsPerNodeLimitsIntoSharesOfTheChildsNode()
    {
        Derived at256 = SweepSettings.governed(OVERSUBSCRIBED, 256L << 20);
        Derived at96 = SweepSettings.governed(OVERSUBSCRIBED, 96L << 20);

        assertThat(at256.properties()).doesNotContainKeys("node.heap-size", "memory.heap-headroom-per-node", "memory.heap.gc-time-threshold",
                "node.heap-governed");
        // 40MB of a 128MB node; of a 48MB node it would be over the 70% pool, so the pool
        assertThat(at256.properties()).containsEntry("query.max-memory-per-node", "31.25%");
        assertThat(at96.properties()).containsEntry("query.max-memory-per-node", "70%");
        assertThat(at96.changes()).contains("node.heap-size=64MB dropped",
                "query.max-memory-per-node=40MB became 70% of the node's 48MB (capped at the pool)");
        // the rest is the workload's
        assertThat(at96.properties()).containsEntry("query.max-memory", "80MB").containsEntry("task.low-memory-killer.policy", "none")
                .containsEntry("cluster.node-count", "2");
        // the engine takes it: each node governs its share of this JVM's heap, 70% of it as its pool
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(at96.properties());
        assertThat(config.heapGoverned()).isTrue();
        assertThat(config.heapBytes()).isEqualTo(Runtime.getRuntime().maxMemory() / 2);
        assertThat(config.maxQueryMemoryPerNode()).isEqualTo(config.heapBytes() * 70 / 100);
    }

    @Test
    void ungovernedGrantsEveryReservation()
    {
        Derived derived = SweepSettings.ungoverned(OVERSUBSCRIBED);

        assertThat(derived.properties()).doesNotContainKeys("memory.heap.gc-time-threshold")
                .containsEntry("node.heap-governed", "false")
                .containsEntry("node.heap-size", "1TB")
                .containsEntry("memory.heap-headroom-per-node", "0B")
                .containsEntry("query.max-memory-per-node", "1TB")
                .containsEntry("query.max-memory", "2TB")
                .containsEntry("task.low-memory-killer.policy", "none");
        assertThat(derived.changes()).contains("query.max-memory=80MB dropped", "query.max-memory-per-node=40MB dropped");
        MemoryEngineConfig config = MemoryEngineConfig.fromMap(derived.properties());
        assertThat(config.heapGoverned()).isFalse();
        assertThat(config.poolBytes()).isEqualTo(1L << 40);
        assertThat(config.maxQueryMemoryPerNode()).isEqualTo(1L << 40);
        assertThat(config.maxQueryMemory()).isEqualTo(2L << 40);
    }

    @Test
    void readsThePeakHeapAfterACollectionFromG1SerialAndParallelLogs()
    {
        String log = """
                [0.003s][info][gc] Using G1
                [0.174s][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 6M->2M(64M) 4.272ms
                [0.680s][info][gc] GC(4) Concurrent Undo Cycle 6.437ms
                [0.721s][info][gc] GC(9) Pause Full (G1 Compaction Pause) 60M->57M(64M) 6.909ms
                [0.731s][info][gc] GC(12) Pause Remark 62M->60M(64M) 2.979ms
                [0.738s][info][gc] GC(12) Pause Cleanup 61M->61M(64M) 0.080ms
                [0.487s][info][gc] GC(10) Pause Young (Allocation Failure) 8M->2M(30M) 6.246ms
                [0.500s][info][gc] GC(11) Pause Young (Allocation Failure) 900K->512K(30M) 1.000ms
                """;

        assertThat(SweepChild.peakAfterGc(log)).isEqualTo(57L << 20);
        assertThat(SweepChild.peakAfterGc("[0.003s][info][gc] Using G1\n")).isZero();
        assertThat(SweepChild.peakAfterGc("[0.5s][info][gc] GC(1) Pause Young (Allocation Failure) 900K->512K(30M) 1.000ms")).isEqualTo(512L << 10);
    }

    @Test
    void wrapsAtEightyColumns()
    {
        String wrapped = SweepCommand.wrap("  96m on: ", "killed CLUSTER_OUT_OF_MEMORY 19, EXCEEDED_HEAP_MEMORY_LIMIT 3; failed JVM_OUT_OF_MEMORY 6, "
                + "EXCEEDED_LOCAL_MEMORY_LIMIT 2; 1 run crashed (no result: queries and heap unknown)", "      ");

        assertThat(wrapped.lines()).hasSizeGreaterThan(1).allSatisfy(line -> assertThat(line).hasSizeLessThanOrEqualTo(SweepCommand.WIDTH));
        assertThat(wrapped.lines().skip(1)).allSatisfy(line -> assertThat(line).startsWith("      ").doesNotStartWith("       "));
        assertThat(wrapped.replaceAll("\\s+", " ").trim()).isEqualTo("96m on: killed CLUSTER_OUT_OF_MEMORY 19, EXCEEDED_HEAP_MEMORY_LIMIT 3; "
                + "failed JVM_OUT_OF_MEMORY 6, EXCEEDED_LOCAL_MEMORY_LIMIT 2; 1 run crashed (no result: queries and heap unknown)");
    }

    static Stream<Arguments> badArguments()
    {
        String workload = LabRunner.testWorkload("sweep-sorts.yaml").toString();
        return Stream.of(
                arguments(List.of("--workload", workload, "--xmx", "64m,16m"), List.of("'16m'", "'--xmx'", "from 32m to 64g")),
                arguments(List.of("--workload", workload, "--xmx", "64"), List.of("'64'", "'--xmx'", "96m,128m,1g")),
                arguments(List.of("--workload", workload, "--xmx", "64m,64m"), List.of("'--xmx'", "64m is listed twice")),
                arguments(List.of("--workload", workload, "--governance", "maybe"), List.of("'maybe'", "'--governance'", "on", "off")),
                arguments(List.of("--workload", workload, "--governance", "on,ON"), List.of("'--governance'", "listed twice")),
                arguments(List.of("--workload", workload, "--repeat", "0"), List.of("'0'", "'--repeat'", "1 to 100")),
                arguments(List.of("--workload", workload, "--timeout", "1s"), List.of("'1s'", "'--timeout'", "10s to 24h")),
                arguments(List.of("--workload", workload, "--jvm-option", "-Xmx1g"), List.of("'-Xmx1g'", "'--jvm-option'", "--xmx sets that")),
                arguments(List.of("--workload", "no-such-workload.yaml"), List.of("no-such-workload.yaml")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badArguments")
    void badArgumentsStopTheSweepBeforeAnythingIsWritten(List<String> arguments, List<String> message)
    {
        Path work = directory.resolve("work");
        List<String> command = Stream.concat(Stream.of("sweep", "--work-dir", work.toString()), arguments.stream()).toList();

        LabRunner.Result result = LabRunner.execute(command.toArray(String[]::new));

        assertThat(result.exitCode()).as(result.out() + result.err()).isEqualTo(Lab.BAD_INPUT);
        assertThat(result.err()).contains(message).doesNotContain("Exception", "\tat ");
        assertThat(result.out()).doesNotContain("child JVM");
        assertThat(Files.exists(work)).as("the work directory").isFalse();
    }

    @Test
    void aPerNodeLimitThatIsNotASizeIsRefusedWithItsKey()
    {
        assertThatThrownBy(() -> SweepSettings.governed(Map.of("query.max-memory-per-node", "lots"), 96L << 20))
                .isInstanceOf(BadInputException.class)
                .hasMessageContainingAll("'lots'", "'query.max-memory-per-node'", "40MB", "30%");
        assertThatThrownBy(() -> SweepSettings.ungoverned(Map.of("cluster.node-count", "0")))
                .isInstanceOf(BadInputException.class)
                .hasMessageContainingAll("'0'", "'cluster.node-count'");
    }

    @Test
    void governanceIsOnOrOff()
    {
        assertThat(Governance.parse(" Off ")).isEqualTo(Governance.OFF);
        assertThatThrownBy(() -> Governance.parse("none")).isInstanceOf(BadInputException.class).hasMessageContaining("'none'");
    }
}
