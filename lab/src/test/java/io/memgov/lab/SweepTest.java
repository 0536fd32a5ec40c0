package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sweep in child JVMs (issue #18, item 6): eight sorts that want ~64MB of buffers, at -Xmx64m and -Xmx256m, with
 * and without governance, one run each. Without governance the 64MB child runs out of heap; governed, the same
 * workload spills and finishes with no OutOfMemoryError; at 256MB both finish. No child outlives the sweep.
 */
final class SweepTest
{
    private static final int QUERIES = 8;

    @TempDir
    Path directory;

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void withoutGovernanceTheSmallHeapRunsOutOfMemoryAndGovernedItDoesNot()
            throws Exception
    {
        Path json = directory.resolve("sweep.json");
        Path work = directory.resolve("work");
        List<Long> childrenBefore = ProcessHandle.current().children().map(ProcessHandle::pid).toList();

        LabRunner.Result result = LabRunner.execute("sweep", "--workload", LabRunner.testWorkload("sweep-sorts.yaml").toString(), "--xmx", "64m,256m",
                "--repeat", "1", "--timeout", "60s", "--json", json.toString(), "--work-dir", work.toString());

        String printed = result.out() + result.err();
        // the exit code judges the governed runs only: all ended clean
        assertThat(result.exitCode()).as(printed).isZero();
        assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive).filter(child -> !childrenBefore.contains(child.pid())))
                .as("child JVMs left running").isEmpty();
        Map<String, JsonNode> runs = new HashMap<>();
        Reports.json().readTree(json.toFile()).get("runs").forEach(run -> runs.put(run.get("xmx").asText() + " " + run.get("governance").asText(), run));
        assertThat(runs).containsOnlyKeys("64m ON", "64m OFF", "256m ON", "256m OFF");

        JsonNode ungovernedSmall = runs.get("64m OFF");
        assertThat(ungovernedSmall.get("jvmOutOfMemoryErrors").asLong()).as(printed).isPositive();
        assertThat(ungovernedSmall.get("spilledBytes").asLong()).as("nothing is revoked without governance").isZero();

        JsonNode governedSmall = runs.get("64m ON");
        assertThat(governedSmall.get("jvmOutOfMemoryErrors").asLong()).as(printed).isZero();
        assertThat(governedSmall.get("finished").asInt()).as(printed).isEqualTo(QUERIES);
        assertThat(governedSmall.get("spilledBytes").asLong()).as("the pool made the sorts spill").isPositive();
        assertClean(governedSmall, printed);
        // the GC log's heap is the child's: close to 64MB, never over it
        assertThat(governedSmall.get("peakHeapAfterGcBytes").asLong()).isBetween(16L << 20, 64L << 20);

        for (String run : List.of("256m ON", "256m OFF")) {
            assertThat(runs.get(run).get("finished").asInt()).as(run + ": " + printed).isEqualTo(QUERIES);
            assertClean(runs.get(run), printed);
        }

        // the table: one block, a row per heap size and governance, 80 columns
        assertThat(result.out()).containsPattern("\n  64m +on +1/1 +8/8 +0 +0 +0 ")
                .containsPattern("\n  64m +off +0/1 +[0-7]/8 ")
                .containsPattern("\n  256m +on +1/1 +8/8 +0 +0 +0 ")
                .containsPattern("\n  256m +off +1/1 +8/8 +0 +0 +0 ");
        String table = result.out().substring(result.out().indexOf("sweep-sorts: 8 queries a run, 1 run a row"), result.out().indexOf("wrote " + json));
        assertThat(table.lines()).allSatisfy(line -> assertThat(line).hasSizeLessThanOrEqualTo(SweepCommand.WIDTH));
        // every child's GC log and result kept where --work-dir said
        assertThat(work.resolve("sweep-sorts-64m-on-1").resolve(SweepChild.GC_LOG)).isNotEmptyFile();
        assertThat(Files.exists(work.resolve("sweep-sorts-64m-on-1").resolve(SweepChild.JSON))).isTrue();
    }

    @Test
    void whereAnOutOfMemoryErrorWasThrownIsItsInnermostFrameOfOurs()
    {
        assertThat(SweepCommand.thrownAt("java.lang.OutOfMemoryError: Java heap space at java.base/java.util.Arrays.copyOf(Arrays.java:3512)"
                + " < app//io.memgov.lab.HashAggregation$GroupTable.resize(HashAggregation.java:355)"
                + " < io.memgov.lab.HashAggregation.makeRoom(HashAggregation.java:108)"))
                .isEqualTo("HashAggregation$GroupTable.resize(HashAggregation.java:355)");
        // a preallocated error without a stack, or one thrown outside our code
        assertThat(SweepCommand.thrownAt("java.lang.OutOfMemoryError: Java heap space")).isEqualTo("unknown");
        assertThat(SweepCommand.thrownAt("java.lang.OutOfMemoryError: Java heap space at java.base/java.lang.Thread.run(Thread.java:840)"))
                .isEqualTo("unknown");
    }

    @Test
    void theTableSaysWhereTheOutOfMemoryErrorsOfARowWereThrown()
    {
        String resize = "java.lang.OutOfMemoryError: Java heap space at io.memgov.lab.HashAggregation$GroupTable.resize(HashAggregation.java:355)"
                + " < io.memgov.lab.HashAggregation.makeRoom(HashAggregation.java:108)";
        String verify = "java.lang.OutOfMemoryError: Java heap space at io.memgov.lab.HashAggregation.expected(HashAggregation.java:210)";
        List<SweepChild.Run> runs = List.of(run(1, List.of(resize, verify)), run(2, List.of(resize)), run(3, List.of()));

        List<SweepCommand.Row> rows = SweepCommand.table(runs, Map.of("w", 4));

        assertThat(rows).singleElement().satisfies(row -> assertThat(row.outOfMemoryAt()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "HashAggregation$GroupTable.resize(HashAggregation.java:355)", 2, "HashAggregation.expected(HashAggregation.java:210)", 1)));
        String text = SweepCommand.text(rows);
        assertThat(text.replaceAll("\\s+", " ")).contains("OutOfMemoryError at HashAggregation$GroupTable.resize(HashAggregation.java:355) 2,"
                + " HashAggregation.expected(HashAggregation.java:210) 1");
        assertThat(SweepCommand.describe(runs.get(0), 3)).contains("OutOfMemoryError at HashAggregation$GroupTable.resize(HashAggregation.java:355) 1,");
    }

    private static SweepChild.Run run(int run, List<String> outOfMemoryAt)
    {
        return new SweepChild.Run("w", "96m", SweepSettings.Governance.ON, run, outOfMemoryAt.isEmpty() ? 0 : 1, false, false, 4, 4 - outOfMemoryAt.size(),
                Map.of(), outOfMemoryAt.isEmpty() ? Map.of() : Map.of(WorkloadRunner.JVM_OUT_OF_MEMORY, outOfMemoryAt.size()), 0, 0, 0, 0, outOfMemoryAt.size(),
                96L << 20, 67L << 20, 90L << 20, 0, 0, 0, 1000, "/tmp/w-" + run, outOfMemoryAt);
    }

    private static void assertClean(JsonNode run, String printed)
    {
        assertThat(run.get("exitCode").asInt()).as(printed).isZero();
        assertThat(run.get("timedOut").asBoolean()).isFalse();
        assertThat(run.get("crashed").asBoolean()).isFalse();
        assertThat(run.get("jvmOutOfMemoryErrors").asLong()).isZero();
        assertThat(run.get("wrongResults").asInt()).isZero();
        assertThat(run.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(run.get("spillFilesLeft").asInt()).isZero();
        assertThat(run.get("leftInTemporaryDirectory").asInt()).isZero();
    }
}
