package io.memgov.lab;

import io.memgov.lab.RunResult.Kill;
import io.memgov.lab.RunResult.QueryResult;
import io.memgov.lab.RunResult.Sample;
import io.memgov.lab.RunResult.Status;
import io.memgov.lab.WorkloadRunner.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What the lab says about a run, from runs made up here: who ended each query, the charts' series, the lines' widths. */
final class OutcomeAndChartTest
{
    private static final long MB = 1 << 20;

    @TempDir
    Path directory;

    @Test
    void namesWhoKilledOrFailedEachQueryAndWhy()
    {
        RunResult run = run(List.of(
                        query("q0", Status.FINISHED, ""),
                        query("q1", Status.KILLED, "CLUSTER_OUT_OF_MEMORY"),
                        query("q2", Status.KILLED, "CLUSTER_OUT_OF_MEMORY"),
                        query("q3", Status.FAILED, WorkloadRunner.STALLED),
                        query("q4", Status.FAILED, WorkloadRunner.STALLED),
                        query("q5", Status.FAILED, "EXCEEDED_LOCAL_MEMORY_LIMIT"),
                        query("q6", Status.KILLED, "MEMORY_ARBITRATION_FAILED")),
                // q2 lost tasks to the task killer, q1 was killed whole by the query killer
                List.of(new Kill(100, "q1", List.of(), "CLUSTER_OUT_OF_MEMORY"), new Kill(200, "q2", List.of("q2.0.0"), "CLUSTER_OUT_OF_MEMORY")),
                List.of());

        List<String> lines = Reports.outcomeLines(run);

        assertThat(String.join("\n", lines)).contains(
                "  q1 killed by total-reservation: CLUSTER_OUT_OF_MEMORY",
                "  q2 killed by task killer least-waste: CLUSTER_OUT_OF_MEMORY",
                "  q3, q4 failed: STALLED (the lab's watchdog: every running query waited 5s",
                "  q5 failed: EXCEEDED_LOCAL_MEMORY_LIMIT (over query.max-memory-per-node, 32MB)",
                "  q6 killed by arbitrator spill-first: MEMORY_ARBITRATION_FAILED")
                .doesNotContain("q0");
        assertThat(lines).allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(80));
        String compare = CompareCommand.outcomes(List.of(run, run(List.of(query("q0", Status.FINISHED, "")), List.of(), List.of())));
        assertThat(compare).contains("killed and failed queries:", "key=value:\n  q1 killed by", "key=value: every query finished");
    }

    @Test
    void manyQueriesEndedAlikeWrapWithinEightyColumns()
    {
        List<QueryResult> queries = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            queries.add(query("q" + i, Status.FAILED, WorkloadRunner.STALLED));
        }

        List<String> lines = Reports.outcomeLines(run(queries, List.of(), List.of()));

        assertThat(lines).hasSizeGreaterThan(2).allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(80));
        assertThat(String.join(" ", lines)).contains("q0, q1,", "q39 failed: STALLED");
    }

    @Test
    void runChartMarksKillsByQuerySpillsArbitrationsAndTheRevocablePart()
            throws Exception
    {
        List<Sample> timeline = List.of(
                new Sample(100, new long[] {10 * MB, 5 * MB}, new long[] {0, 0}, new long[] {0, 0}, 0),
                new Sample(200, new long[] {50 * MB, 20 * MB}, new long[] {8 * MB, 0}, new long[] {0, 0}, 2),
                new Sample(300, new long[] {30 * MB, 20 * MB}, new long[] {2 * MB, 0}, new long[] {4 * MB, 0}, 2),
                new Sample(400, new long[] {0, 0}, new long[] {0, 0}, new long[] {4 * MB, 0}, 3));
        RunResult run = run(List.of(query("q7", Status.KILLED, "CLUSTER_OUT_OF_MEMORY")),
                List.of(new Kill(250, "q7", List.of(), "CLUSTER_OUT_OF_MEMORY")), timeline);

        XYChart chart = Reports.runChart(run, "test");

        assertThat(chart.getSeriesMap().keySet()).contains("node-0", "node-0 revocable", "of which revocable (dotted)", "pool max per node", "kill",
                "spill files grew", "arbitration");
        assertThat(chart.getYAxisTitle()).isEqualTo("pool use per node (MB)");
        assertThat(Reports.killLabels(run)).containsExactly("q7");
        assertThat(Reports.spillMillis(timeline)).containsExactly(300L);
        assertThat(Reports.arbitrationMillis(timeline)).containsExactly(200L, 400L);
        Path png = directory.resolve("run.png");
        Reports.writeRunPng(png, run, "test");
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(1000);
    }

    @Test
    void compareChartDrawsTheClusterPoolMaximumAndNamesRunsByValue()
    {
        XYChart chart = Reports.compareChart(List.of(run(List.of(), List.of(), List.of()), run(List.of(), List.of(), List.of())), "test");

        // the runs' labels share "key=": the legend names the values
        assertThat(chart.getSeriesMap().keySet()).contains("value (0 killed, 0 failed)", "value (0 killed, 0 failed) #2", "pool max, all nodes");
        assertThat(chart.getSeriesMap().get("pool max, all nodes").getYData()).containsOnly(96.0);
    }

    @Test
    void progressLineFitsEightyColumns()
    {
        ProgressPrinter printer = new ProgressPrinter(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false, "  ");
        long[] three = {52 * MB, 50 * MB, 3 * MB};
        long[] max3 = {48 * MB, 48 * MB, 48 * MB};
        Progress threeNodes = new Progress(123_400, 1000, 999, 999, 1000, 1000, 1000, List.of("node-0", "node-1", "node-2"), three, max3);
        long[] eight = new long[8];
        long[] max8 = new long[8];
        java.util.Arrays.fill(eight, 100 * MB);
        java.util.Arrays.fill(max8, 4096 * MB);
        eight[5] = 4000 * MB;
        List<String> nodes = List.of("node-0", "node-1", "node-2", "node-3", "node-4", "node-5", "node-6", "node-7");
        Progress eightNodes = new Progress(2_000, 0, 12, 3, 4, 1, 0, nodes, eight, max8);

        String quiet = printer.format(new Progress(900, 0, 6, 0, 0, 0, 0, List.of("node-0", "node-1", "node-2"), three, max3));
        String busy = printer.format(threeNodes);
        String wide = printer.format(eightNodes);

        assertThat(quiet).isEqualTo("  [  0.9s] 0 done, 6 running | MB 52/48 50/48 3.0/48");
        assertThat(busy.length()).as(busy).isLessThanOrEqualTo(80);
        assertThat(busy).contains("1000 done, 999 run (999 blk), 1000 kill, 1000 fail, 1000 wait");
        // eight nodes do not fit: the fullest one is shown
        assertThat(wide).as(wide).hasSizeLessThanOrEqualTo(80).endsWith("| node-5 4000/4096MB");
    }

    @Test
    void countsSayOneQueryOnOneNode()
    {
        assertThat(RunCommand.count(1, "query", "queries") + " on " + RunCommand.count(1, "node", "nodes")).isEqualTo("1 query on 1 node");
        assertThat(RunCommand.count(2, "node", "nodes")).isEqualTo("2 nodes");
        assertThat(RunCommand.count(1, "spill file", "spill files")).isEqualTo("1 spill file");
    }

    private static QueryResult query(String id, Status status, String errorCode)
    {
        return new QueryResult(id, "alice", "sort", status, errorCode, "", 0, 0, 0, 0, 0, status == Status.FINISHED, 0, 0);
    }

    private static RunResult run(List<QueryResult> queries, List<Kill> kills, List<Sample> timeline)
    {
        RunResult.Settings settings = new RunResult.Settings(Map.of("key", "value"), Map.of("key", "--set"), Map.of(
                "query.low-memory-killer.policy", "total-reservation",
                "task.low-memory-killer.policy", "least-waste",
                "memory.arbitrator.policy", "spill-first"), 32 * MB, 80 * MB);
        RunResult.Totals totals = WorkloadRunner.totals(queries, timeline, 0, 0, 0, 0, 1000, 0);
        return new RunResult("key=value", 1, List.of("node-0", "node-1"), 48 * MB, queries, totals, RunResult.Arbitration.notRead(), timeline, kills,
                new RunResult.Heap(true, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), List.of(), List.of(), settings);
    }
}
