package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

final class CompareAndReportTest
{
    @TempDir
    Path directory;

    @Test
    void comparesTheThreeTrinoKillersWithATableThatMatchesTheJson()
            throws Exception
    {
        Path json = directory.resolve("compare.json");
        Path report = directory.resolve("report");

        LabRunner.Result result = LabRunner.execute("compare", "--workload", LabRunner.testWorkload("compare-small.yaml").toString(),
                "--set", "query.low-memory-killer.policy=none,total-reservation,total-reservation-on-blocked-nodes",
                "--json", json.toString(), "--report", report.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        JsonNode runs = Reports.json().readTree(json.toFile());
        assertThat(runs).hasSize(3);
        List<String> lines = result.out().lines().toList();
        int header = lines.indexOf(lines.stream().filter(line -> line.startsWith("query.low-memory-killer.policy ")).findFirst().orElseThrow());
        assertThat(lines.get(header).split("\\s+")).containsExactly("query.low-memory-killer.policy", "none", "total-reservation", "total-reservation-on-blocked-nodes");
        Map<String, Function<JsonNode, String>> fromJson = Map.of(
                "finished", totals -> totals.get("finished").asText(),
                "killed", totals -> totals.get("killed").asText(),
                "failed", totals -> totals.get("failed").asText(),
                "wasted work (CPU)", totals -> Reports.millis(totals.get("wastedCpuNanos").asLong() / 1_000_000),
                "peak pool use (largest node)", totals -> io.memgov.spi.policy.DataSizes.succinct(totals.get("peakPoolBytes").asLong()),
                "spilled", totals -> io.memgov.spi.policy.DataSizes.succinct(totals.get("spilledBytes").asLong()),
                "wall time", totals -> Reports.millis(totals.get("wallMillis").asLong()));
        fromJson.forEach((row, value) -> {
            String line = lines.stream().filter(candidate -> candidate.startsWith(row + " ")).findFirst().orElseThrow();
            String[] cells = line.substring(row.length()).trim().split("\\s+");
            for (int run = 0; run < 3; run++) {
                assertThat(cells[run]).as(row + " of run " + run).isEqualTo(value.apply(runs.get(run).get("totals")));
            }
        });
        for (JsonNode run : runs) {
            JsonNode totals = run.get("totals");
            // every query is accounted for, and the per-query list agrees with the totals
            assertThat(totals.get("finished").asInt() + totals.get("killed").asInt() + totals.get("failed").asInt()).isEqualTo(6);
            long killedInList = 0;
            for (JsonNode query : run.get("queries")) {
                killedInList += query.get("status").asText().equals("KILLED") ? 1 : 0;
                if (query.get("status").asText().equals("FINISHED")) {
                    assertThat(query.get("verified").asBoolean()).isTrue();
                }
            }
            assertThat(killedInList).isEqualTo(totals.get("killed").asLong());
            assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
            assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        }
        // stdout names every query that did not finish, under its run, with its error code, in 80 columns
        String outcomes = result.out().substring(result.out().indexOf("killed and failed queries:"));
        for (JsonNode run : runs) {
            String section = outcomes.substring(outcomes.indexOf(run.get("label").asText() + ":"));
            for (JsonNode query : run.get("queries")) {
                if (!query.get("status").asText().equals("FINISHED")) {
                    assertThat(section).containsPattern("\\b" + query.get("id").asText() + "\\b[^\\n]*(killed by|failed: )");
                    assertThat(section).contains(query.get("errorCode").asText());
                }
            }
        }
        assertThat(outcomes).containsPattern("q\\d+ killed by total-reservation: CLUSTER_OUT_OF_MEMORY");
        assertThat(outcomes.lines()).allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(80));
        // the workload oversubscribes the pool: a real killer must have killed, 'none' never kills
        assertThat(runs.get(0).get("totals").get("killed").asInt()).isZero();
        assertThat(runs.get(1).get("totals").get("killed").asInt()).isPositive();
        assertThat(Files.size(report.resolve(Reports.COMPARE_CHART))).isPositive();
        assertThat(Files.readString(report.resolve(Reports.PAGE))).contains(Reports.COMPARE_CHART, "total-reservation-on-blocked-nodes", "wasted work",
                // every property and policy in force, and what set it
                "<h2>Configuration</h2>", "<td>query.max-memory-per-node</td><td>13MB</td><td>workload compare-small</td>",
                "<td>memory.leak-detector.policy</td><td>leak-detector</td><td>default</td>", "<td>memory.arbitrator.policy</td>");
    }

    @Test
    void runWritesJsonAndAReportWithTheKillsMarked()
            throws Exception
    {
        Path json = directory.resolve("run.json");
        Path report = directory.resolve("report");

        LabRunner.Result result = LabRunner.execute("run", "--workload", LabRunner.testWorkload("compare-small.yaml").toString(),
                "--json", json.toString(), "--report", report.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        JsonNode run = Reports.json().readTree(json.toFile());
        JsonNode totals = run.get("totals");
        for (String field : List.of("finished", "killed", "failed", "jvmOutOfMemoryErrors", "reservedBytesAfterRun", "spillFilesLeft", "wallMillis")) {
            assertThat(totals.has(field)).as(field).isTrue();
        }
        JsonNode query = run.get("queries").get(0);
        for (String field : List.of("id", "user", "status", "errorCode", "message", "peakBytes", "spilledBytes", "verified",
                "cumulativeUserMemoryByteSeconds", "cumulativeTotalMemoryByteSeconds")) {
            assertThat(query.has(field)).as(field).isTrue();
        }
        // Presto's cumulative memory per query: the queries held user memory for a while, and their total figure
        // (user + system) is never below their user figure
        double cumulativeUser = 0;
        for (JsonNode each : run.get("queries")) {
            assertThat(each.get("cumulativeTotalMemoryByteSeconds").asDouble()).as(each.get("id").asText())
                    .isGreaterThanOrEqualTo(each.get("cumulativeUserMemoryByteSeconds").asDouble());
            cumulativeUser += each.get("cumulativeUserMemoryByteSeconds").asDouble();
        }
        assertThat(cumulativeUser).isPositive();
        assertThat(totals.get("killed").asInt()).isPositive();
        assertThat(run.get("kills")).hasSize(totals.get("killed").asInt());
        assertThat(run.get("timeline").size()).isPositive();
        // the real heap: this JVM's, sampled with the pools
        JsonNode heap = run.get("heap");
        assertThat(heap.get("maxHeapBytes").asLong()).isEqualTo(Runtime.getRuntime().maxMemory());
        // live figures come from collections seen by a sample: a run short enough to sample none after a collection has
        // none (a quiet machine ran it in 0.3s), so only the bounds are asserted here; HeapGovernedTest checks the figures
        assertThat(heap.get("peakLiveBytes").asLong()).isNotNegative().isLessThanOrEqualTo(heap.get("maxHeapBytes").asLong());
        assertThat(heap.get("outOfMemoryErrorsThrown").asLong()).as("HotSpot reports its OutOfMemoryError count").isZero();
        assertThat(run.get("heapTimeline")).hasSize(run.get("timeline").size());
        assertThat(result.out()).containsPattern("heap: max [0-9.]+[kMG]B, pools [0-9.]+[kMG]B \\(governing the heap\\), peak live heap ");
        // which figures are per node and which cluster-wide, and why a pool can go over its maximum
        assertThat(result.out()).contains("pool 13MB per node; a query may hold 13MB per node, 26MB cluster-wide",
                "peak pool use (largest node) ", "(peak: the most a query held at once, all its nodes together)");
        if (totals.get("peakPoolBytes").asLong() > run.get("poolBytes").asLong()) {
            assertThat(result.out()).contains(RunCommand.OVER_COMMIT);
        }
        assertThat(result.out().lines())
                .allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(80));
        assertThat(Files.size(report.resolve(Reports.RUN_CHART))).isPositive();
        assertThat(Files.size(report.resolve(Reports.HEAP_CHART))).isPositive();
        String page = Files.readString(report.resolve(Reports.PAGE));
        assertThat(page).contains("<img src=\"" + Reports.RUN_CHART + "\"", "<img src=\"" + Reports.HEAP_CHART + "\"", "<h2>Heap</h2>", "peak live heap after GC",
                "<h2>Kills</h2>", "CLUSTER_OUT_OF_MEMORY", "verified", "killed by total-reservation-on-blocked-nodes: CLUSTER_OUT_OF_MEMORY",
                "<h2>Configuration</h2>", "<td>cluster.node-count</td><td>2</td><td>workload compare-small</td>");
    }

    @Test
    void pluginsListsEveryPluginWithItsSourceAndFactories()
            throws Exception
    {
        LabRunner.Result text = LabRunner.execute("plugins");
        LabRunner.Result json = LabRunner.execute("plugins", "--json");

        assertThat(text.exitCode()).isZero();
        assertThat(text.out()).contains("BlockedNodesPlugin", "from class path", "total-reservation-on-blocked-nodes", "selected:");
        JsonNode listing = Reports.json().readTree(json.out());
        JsonNode blockedNodes = null;
        for (JsonNode plugin : listing.get("plugins")) {
            if (plugin.get("plugin").asText().equals("BlockedNodesPlugin")) {
                blockedNodes = plugin;
            }
        }
        assertThat(blockedNodes).isNotNull();
        assertThat(blockedNodes.get("source").asText()).contains("class path");
        assertThat(blockedNodes.get("factories").get("task low memory killer").toString()).contains("least-waste");
        assertThat(listing.get("selected").get("query.low-memory-killer.policy").asText()).isEqualTo("total-reservation-on-blocked-nodes");
    }

    @Test
    void theLabCarriesEveryBundledPlugin()
            throws Exception
    {
        // every plugin-* module of the repository (tests run in lab/), by the entry points its service file names
        List<String> bundled = new java.util.ArrayList<>();
        try (java.util.stream.Stream<Path> modules = Files.list(Path.of(".."))) {
            for (Path module : modules.filter(path -> path.getFileName().toString().startsWith("plugin-")).sorted().toList()) {
                Path services = module.resolve("src/main/resources/META-INF/services/io.memgov.spi.MemoryPlugin");
                Files.readAllLines(services).stream().map(String::trim).filter(line -> !line.isEmpty() && !line.startsWith("#"))
                        .map(name -> name.substring(name.lastIndexOf('.') + 1)).forEach(bundled::add);
            }
        }

        JsonNode listing = Reports.json().readTree(LabRunner.execute("plugins", "--json").out());

        List<String> listed = new java.util.ArrayList<>();
        listing.get("plugins").forEach(plugin -> listed.add(plugin.get("plugin").asText()));
        assertThat(bundled).hasSizeGreaterThanOrEqualTo(9);
        assertThat(listed).containsAll(bundled);
    }

    @Test
    void pluginDirThatIsNotADirectoryExitsWithTwo()
    {
        LabRunner.Result result = LabRunner.execute("plugins", "--plugin-dir", directory.resolve("none").toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("--plugin-dir", "not a directory");
    }
}
