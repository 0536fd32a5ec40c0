package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.memgov.lab.CompareCommand.Measure;
import io.memgov.lab.CompareCommand.Spread;
import io.memgov.lab.CompareCommand.Unit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

final class CompareRepeatTest
{
    private static final double MB = 1024.0 * 1024.0;

    @TempDir
    Path directory;

    @Test
    @Timeout(120)
    void repeatedComparisonOfArbitratorsPrintsMeansOverSeedsWithTheArbitrationFiguresAndWritesThemAsJson()
            throws Exception
    {
        Path json = directory.resolve("repeat.json");
        Path report = directory.resolve("report");

        // two nodes of 13MB where two of three 8MB aggregations never fit at once: reservations block under every arbitrator
        LabRunner.Result result = LabRunner.execute("compare", "--workload", LabRunner.testWorkload("compare-small.yaml").toString(),
                "--set", "memory.arbitrator.policy=none,spill-first", "--repeat", "2", "--json", json.toString(), "--report", report.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        // one round of every value per seed; the workload's seed is 5
        assertThat(result.out()).contains(
                "run 1/4: memory.arbitrator.policy=none seed=5", "run 2/4: memory.arbitrator.policy=spill-first seed=5",
                "run 3/4: memory.arbitrator.policy=none seed=6", "run 4/4: memory.arbitrator.policy=spill-first seed=6",
                "2 runs per value, seeds 5..6");

        JsonNode repeated = Reports.json().readTree(json.toFile());
        assertThat(repeated.get("key").asText()).isEqualTo("memory.arbitrator.policy");
        assertThat(repeated.get("repeat").asInt()).isEqualTo(2);
        JsonNode values = repeated.get("values");
        assertThat(values).hasSize(2);
        for (int i = 0; i < 2; i++) {
            JsonNode value = values.get(i);
            String name = List.of("none", "spill-first").get(i);
            assertThat(value.get("value").asText()).isEqualTo(name);
            assertThat(value.get("seeds").toString()).isEqualTo("[5,6]");
            assertThat(value.get("cleanRuns").asInt()).isEqualTo(2);
            JsonNode runs = value.get("runs");
            assertThat(runs).hasSize(2);
            for (int round = 0; round < 2; round++) {
                JsonNode run = runs.get(round);
                assertThat(run.get("seed").asLong()).isEqualTo(5 + round);
                assertThat(run.get("label").asText()).isEqualTo("memory.arbitrator.policy=" + name + " seed=" + (5 + round));
                // the run's own engine, read at its end
                assertThat(run.get("arbitration").get("arbitrator").asText()).isEqualTo(name);
                assertThat(run.get("totals").get("reservedBytesAfterRun").asLong()).isZero();
            }
            // the summary is the runs' mean, min and max, in the units the field names
            assertSpread(value, "finished", run -> run.get("totals").get("finished").asDouble());
            assertSpread(value, "killed", run -> run.get("totals").get("killed").asDouble());
            assertSpread(value, "wastedCpuMillis", run -> run.get("totals").get("wastedCpuNanos").asDouble() / 1e6);
            assertSpread(value, "spilledBytes", run -> run.get("totals").get("spilledBytes").asDouble());
            assertSpread(value, "wallMillis", run -> run.get("totals").get("wallMillis").asDouble());
            assertSpread(value, "blockedReservations", run -> run.get("arbitration").get("blockedReservations").asDouble());
            assertSpread(value, "arbitrations", run -> run.get("arbitration").get("arbitrations").asDouble());
            assertSpread(value, "reliefP50Millis", run -> run.get("arbitration").get("reliefP50Nanos").asDouble() / 1e6);
            assertSpread(value, "reliefP99Millis", run -> run.get("arbitration").get("reliefP99Nanos").asDouble() / 1e6);
            JsonNode summary = value.get("summary");
            // the pools were oversubscribed in every run: reservations blocked, and were relieved after some time
            assertThat(summary.get("blockedReservations").get("min").asDouble()).isPositive();
            assertThat(summary.get("reliefP50Millis").get("min").asDouble()).isPositive();
            assertThat(summary.get("reliefP99Millis").get("mean").asDouble()).isGreaterThanOrEqualTo(summary.get("reliefP50Millis").get("mean").asDouble());
            assertThat(summary.get("finished").get("mean").asDouble() + summary.get("killed").get("mean").asDouble()
                    + summary.get("failed").get("mean").asDouble()).isEqualTo(6.0);
        }
        // 'none' leaves blocked reservations to the cluster loop; 'spill-first' is asked at once
        assertThat(values.get(0).get("summary").get("arbitrations").get("max").asDouble()).isZero();
        assertThat(values.get(1).get("summary").get("arbitrations").get("min").asDouble()).isPositive();

        // the table: a column per value, a row per measure, each cell the JSON's summary as formatted
        List<String> lines = result.out().lines().toList();
        String header = lines.stream().filter(line -> line.startsWith("memory.arbitrator.policy ")).findFirst().orElseThrow();
        assertThat(header.split("\\s+")).containsExactly("memory.arbitrator.policy", "none", "spill-first");
        for (Measure measure : CompareCommand.MEASURES) {
            List<String> expected = new ArrayList<>();
            for (JsonNode value : values) {
                JsonNode spread = value.get("summary").get(measure.field());
                expected.add(CompareCommand.format(measure.unit(),
                        new Spread(spread.get("mean").asDouble(), spread.get("min").asDouble(), spread.get("max").asDouble())));
            }
            assertThat(cells(lines, measure.row())).as(measure.row()).isEqualTo(expected);
        }
        assertThat(cells(lines, "clean runs")).containsExactly("2/2", "2/2");
        // within 100 columns, from the header to the line that says what a cell is
        int first = lines.indexOf(header);
        int last = lines.indexOf(lines.stream().filter(line -> line.startsWith("2 runs per value")).findFirst().orElseThrow());
        assertThat(lines.subList(first, last + 1)).hasSize(CompareCommand.MEASURES.size() + 3)
                .allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(100));
        assertThat(Files.readString(report.resolve(Reports.PAGE))).contains("<h2>Summary</h2>", "time to relief p99", "seed=6");
    }

    @Test
    void cellsShowTheMeanAndTheRangeOfTheRunsInOneUnit()
    {
        assertThat(CompareCommand.format(Unit.COUNT, new Spread(27.4, 26, 29))).isEqualTo("27.4 (26-29)");
        // every run alike: no range
        assertThat(CompareCommand.format(Unit.COUNT, new Spread(30, 30, 30))).isEqualTo("30");
        assertThat(CompareCommand.format(Unit.MILLIS, new Spread(1520, 810, 2900))).isEqualTo("1.52s (0.81-2.9)");
        assertThat(CompareCommand.format(Unit.MILLIS, new Spread(138.4, 16.2, 477))).isEqualTo("138ms (16.2-477)");
        // relief through a spill can take microseconds
        assertThat(CompareCommand.format(Unit.MILLIS, new Spread(0.0512, 0.03, 0.08))).isEqualTo("51.2us (30-80)");
        assertThat(CompareCommand.format(Unit.MILLIS, new Spread(0, 0, 0))).isEqualTo("0ms");
        assertThat(CompareCommand.format(Unit.BYTES, new Spread(65.2 * MB, 10.4 * MB, 110.3 * MB))).isEqualTo("65.2MB (10.4-110)");
        assertThat(CompareCommand.format(Unit.BYTES, new Spread(0, 0, 0))).isEqualTo("0B");
    }

    @Test
    void repeatOutsideItsBoundsIsRejectedBeforeAnyRun()
    {
        for (Map.Entry<String, String> bad : Map.of("--repeat", "0", "--warmup", "-1").entrySet()) {
            LabRunner.Result result = LabRunner.execute("compare", "--workload", LabRunner.testWorkload("compare-small.yaml").toString(),
                    "--set", "memory.arbitrator.policy=none,spill-first", bad.getKey(), bad.getValue());

            assertThat(result.exitCode()).isEqualTo(2);
            assertThat(result.err()).contains("invalid value '" + bad.getValue() + "' for '" + bad.getKey() + "'", "from", "to 100");
            assertThat(result.out()).doesNotContain("run 1/");
        }
    }

    private static void assertSpread(JsonNode value, String field, ToDoubleFunction<JsonNode> measure)
    {
        List<Double> figures = new ArrayList<>();
        value.get("runs").forEach(run -> figures.add(measure.applyAsDouble(run)));
        JsonNode spread = value.get("summary").get(field);
        assertThat(spread.get("mean").asDouble()).as(field).isCloseTo(figures.stream().mapToDouble(Double::doubleValue).average().orElseThrow(), within(1e-9));
        assertThat(spread.get("min").asDouble()).as(field).isEqualTo(figures.stream().mapToDouble(Double::doubleValue).min().orElseThrow());
        assertThat(spread.get("max").asDouble()).as(field).isEqualTo(figures.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    }

    // a row's cells: separated by two spaces or more, while a cell's mean and range are one space apart
    private static List<String> cells(List<String> lines, String row)
    {
        String line = lines.stream().filter(candidate -> candidate.startsWith(row + " ")).findFirst().orElseThrow();
        return List.of(line.substring(row.length()).trim().split("\\s{2,}"));
    }
}
