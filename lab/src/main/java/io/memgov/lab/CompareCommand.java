package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.lab.RunResult.Totals;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.DoubleSummaryStatistics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {
                "Runs the same workload once for each value of one engine property and prints the runs side by side: finished, killed, failed, "
                        + "wasted work (CPU time of killed and failed queries), peak pool use, spilled bytes and wall time.",
                "Example: compare --workload etc/workloads/oversubscribed.yaml "
                        + "--set query.low-memory-killer.policy=none,total-reservation,total-reservation-on-blocked-nodes",
                "With --repeat N every value runs N times, with the workload's seed, seed+1, ... (one round of every value per seed), "
                        + "and the table shows each measure's mean and, where the runs differ, their min-max, with the arbitration figures "
                        + "(blocked reservations, arbitrations, time to relief p50/p99).",
                "Exit code 0: every run completed; 1: a run had a wrong result, a JVM OutOfMemoryError, or left memory or spill files behind; "
                        + "2: bad arguments, configuration or workload file."})
final class CompareCommand
        implements Callable<Integer>
{
    /** The most runs per value, and warm-up runs, one comparison makes. */
    static final int MAX_REPEAT = 100;

    @Option(names = "--config", paramLabel = "FILE", description = "Engine properties file, over the lab's built-in defaults: it sets only the keys "
            + "it names. Repeatable: later files win.")
    List<Path> configs = new ArrayList<>();

    @Option(names = "--workload", paramLabel = "FILE", required = true, description = "Workload file, YAML or JSON.")
    Path workload;

    @Option(names = "--set", paramLabel = "KEY=V1,V2,...", required = true, description = "The first: the property to vary and its values, one run "
            + "each. Each further --set KEY=VALUE fixes one more property for every run, over the files and the workload's.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--explain", description = "Prints every property in force in the first run and which layer set it (default, a --config file, "
            + "the workload, --set), and exits without running.")
    boolean explain;

    @Option(names = "--png", paramLabel = "FILE", description = "Writes the chart comparing the runs' pool use over time as one PNG file.")
    Path png;

    @Option(names = "--repeat", paramLabel = "N", description = "Runs each value N times, with seeds seed, seed+1, ..., and shows means (default: 1).")
    int repeat = 1;

    @Option(names = "--warmup", paramLabel = "N", description = "Runs the first value N times before the measured runs and drops those runs: "
            + "the JVM's first runs pay for JIT compilation (default: 0).")
    int warmup;

    @Option(names = "--json", paramLabel = "FILE", description = "Writes every run (queries, totals, arbitration, timeline) as a JSON array; "
            + "with --repeat above 1, an object with each value's runs and their summary.")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", description = "Writes one chart comparing the runs' pool use over time and an HTML page with the tables.")
    Path report;

    @Option(names = "--processes", description = "Runs every run with a worker JVM per node, as run --processes. Also set by 'processes: true' in the workload file.")
    boolean processes;

    /** A property and the values it takes, one run each. */
    record Variation(String key, List<String> values)
    {
        static Variation parse(String text)
        {
            int equals = text.indexOf('=');
            String key = equals < 0 ? "" : text.substring(0, equals).trim();
            List<String> values = equals < 0 ? List.of() : Arrays.stream(text.substring(equals + 1).split(",", -1)).map(String::trim).toList();
            if (key.isEmpty() || values.isEmpty() || values.stream().anyMatch(String::isEmpty)) {
                throw new BadInputException("invalid value '" + text + "' for '--set': expected KEY=V1,V2,... with a property name and "
                        + "non-empty values, e.g. query.low-memory-killer.policy=none,total-reservation");
            }
            if (values.stream().distinct().count() != values.size()) {
                throw new BadInputException("invalid value '" + text + "' for '--set': a value is listed twice");
            }
            return new Variation(key, values);
        }
    }

    // the second and further --set, fixed for every run
    private Map<String, String> fixed = Map.of();

    @Override
    public Integer call()
            throws Exception
    {
        Variation variation = Variation.parse(sets.get(0));
        fixed = LabConfig.parseSets(sets.subList(1, sets.size()));
        checkRange("--repeat", repeat, 1);
        checkRange("--warmup", warmup, 0);
        Workload chosen = Workload.read(workload);
        if (explain) {
            LabConfig.Resolved first = resolved(chosen, variation.key(), variation.values().get(0));
            System.out.print(first.explain());
            first.engine().withoutJmx().build().close();
            return 0;
        }
        RunCommand.checkWritable(json, report);
        RunCommand.checkWritable(png, null);
        boolean inProcesses = processes || chosen.processes();
        // every engine is built once up front, so a bad value fails before any run, not after the first ones
        for (String value : variation.values()) {
            if (inProcesses) {
                LabConfig.checkedForProcesses(resolved(chosen, variation.key(), value).properties()).build().close();
            }
            else {
                LabConfig.Resolved resolved = resolved(chosen, variation.key(), value);
                resolved.spill(Path.of(System.getProperty("java.io.tmpdir")));
                resolved.engine().build().close();
            }
        }
        PrintStream out = System.out;
        boolean clean = true;
        String first = variation.values().get(0);
        for (int i = 0; i < warmup; i++) {
            out.printf("warm-up %d/%d: %s=%s (not measured)%n", i + 1, warmup, variation.key(), first);
            if (!run(chosen, variation.key(), first, variation.key() + "=" + first).totals().clean()) {
                // not measured, but what it left behind still fails the comparison
                out.printf("warm-up %d/%d: a wrong result, a JVM OutOfMemoryError, an internal error, or memory or spill files left behind%n",
                        i + 1, warmup);
                clean = false;
            }
        }
        List<RunResult> runs = new ArrayList<>();
        int total = variation.values().size() * repeat;
        // one round of every value per seed, not every seed per value: a drift over the runs (the JVM warming up, a
        // busy machine) then falls on every value alike
        for (int round = 0; round < repeat; round++) {
            Workload seeded = new Workload(chosen.name(), chosen.seed() + round, chosen.properties(), chosen.queries(), chosen.processes());
            for (String value : variation.values()) {
                String label = variation.key() + "=" + value + (repeat == 1 ? "" : " seed=" + seeded.seed());
                out.printf("run %d/%d: %s%n", runs.size() + 1, total, label);
                runs.add(inProcesses
                        ? RunCommand.runInProcesses(seeded, resolved(seeded, variation.key(), value), label, Chaos.NONE, out, "  ")
                        : run(seeded, variation.key(), value, label));
            }
        }
        out.println();
        String title = "memgov lab: " + chosen.name() + ", varying " + variation.key();
        if (repeat == 1) {
            out.print(table(variation, runs));
            out.print(outcomes(runs));
            if (json != null) {
                Reports.writeJson(json, runs, "--json");
                out.println("wrote " + json);
            }
            if (report != null) {
                out.println("wrote " + Reports.writeCompareReport(report, runs, title));
            }
        }
        else {
            Repeated repeated = Repeated.of(variation, repeat, runs);
            String summary = repeatTable(repeated);
            out.print(summary);
            out.print(outcomes(runs));
            if (json != null) {
                Reports.writeJson(json, repeated, "--json");
                out.println("wrote " + json);
            }
            if (report != null) {
                out.println("wrote " + Reports.writeCompareReport(report, runs, title, summary));
            }
        }
        if (png != null) {
            Reports.writeComparePng(png, runs, title);
            out.println("wrote " + png);
        }
        return clean && runs.stream().allMatch(run -> run.totals().clean()) ? 0 : 1;
    }

    private static void checkRange(String option, int value, int min)
    {
        if (value < min || value > MAX_REPEAT) {
            throw new BadInputException("invalid value '" + value + "' for '" + option + "': expected a whole number from " + min + " to " + MAX_REPEAT);
        }
    }

    private RunResult run(Workload chosen, String key, String value, String label)
            throws InterruptedException
    {
        LabConfig.Resolved resolved = resolved(chosen, key, value);
        try (MemoryEngine engine = resolved.engine().build()) {
            ProgressPrinter progress = ProgressPrinter.forStandardOutput("  ");
            RunResult result = new WorkloadRunner(engine, chosen, label, resolved).run(progress);
            progress.finish();
            return result;
        }
    }

    /** The layers, then the fixed {@code --set}s, then the compared value on top. */
    private LabConfig.Resolved resolved(Workload chosen, String key, String value)
    {
        return LabConfig.resolve(configs, chosen.name(), chosen.properties(), fixed).with(Map.of(key, value), "--set (compared)");
    }

    /**
     * Every run's killed and failed queries and why (who killed them, the error code), in lines of at most 80
     * columns; a run where every query finished says so in one line.
     */
    static String outcomes(List<RunResult> runs)
    {
        StringBuilder text = new StringBuilder("\nkilled and failed queries:\n");
        for (RunResult run : runs) {
            List<String> lines = Reports.outcomeLines(run);
            if (lines.isEmpty()) {
                Reports.wrap(run.label() + ": every query finished", "", "  ").forEach(line -> text.append(line).append('\n'));
                continue;
            }
            Reports.wrap(run.label() + ":", "", "  ").forEach(line -> text.append(line).append('\n'));
            lines.forEach(line -> text.append(line).append('\n'));
        }
        return text.toString();
    }

    /** The runs side by side: a row per measure, a column per value. */
    static String table(Variation variation, List<RunResult> runs)
    {
        int labelWidth = Reports.totalsRows().keySet().stream().mapToInt(String::length).max().orElse(10);
        labelWidth = Math.max(labelWidth, variation.key().length());
        List<Integer> widths = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            int column = i;
            int width = variation.values().get(i).length();
            for (Function<Totals, String> row : Reports.totalsRows().values()) {
                width = Math.max(width, row.apply(runs.get(column).totals()).length());
            }
            widths.add(width);
        }
        StringBuilder table = new StringBuilder(pad(variation.key(), labelWidth));
        for (int i = 0; i < runs.size(); i++) {
            table.append("  ").append(padLeft(variation.values().get(i), widths.get(i)));
        }
        table.append('\n');
        for (Map.Entry<String, Function<Totals, String>> row : Reports.totalsRows().entrySet()) {
            table.append(pad(row.getKey(), labelWidth));
            for (int i = 0; i < runs.size(); i++) {
                table.append("  ").append(padLeft(row.getValue().apply(runs.get(i).totals()), widths.get(i)));
            }
            table.append('\n');
        }
        return table.toString();
    }

    /** How a measure's figures read in the table: a count, a duration in milliseconds or a size in bytes. */
    enum Unit { COUNT, MILLIS, BYTES }

    /**
     * One row of the {@code --repeat} table and one field of its JSON summary.
     *
     * @param field the JSON name; its unit is {@code unit}'s (milliseconds, bytes or a count)
     */
    record Measure(String row, String field, Unit unit, ToDoubleFunction<RunResult> value) {}

    static final List<Measure> MEASURES = List.of(
            new Measure("finished", "finished", Unit.COUNT, run -> run.totals().finished()),
            new Measure("killed", "killed", Unit.COUNT, run -> run.totals().killed()),
            new Measure("failed", "failed", Unit.COUNT, run -> run.totals().failed()),
            new Measure("wasted work (CPU)", "wastedCpuMillis", Unit.MILLIS, run -> run.totals().wastedCpuNanos() / 1e6),
            new Measure("spilled", "spilledBytes", Unit.BYTES, run -> run.totals().spilledBytes()),
            new Measure("wall time", "wallMillis", Unit.MILLIS, run -> run.totals().wallMillis()),
            new Measure("blocked reservations", "blockedReservations", Unit.COUNT, run -> run.arbitration().blockedReservations()),
            new Measure("arbitrations", "arbitrations", Unit.COUNT, run -> run.arbitration().arbitrations()),
            new Measure("pauses", "pauses", Unit.COUNT, run -> run.arbitration().pauses()),
            // the kills of the arbitrator's kill and fail steps; "killed" also counts the cluster loop's
            new Measure("arbitrator kills", "arbitratorKills", Unit.COUNT, run -> run.arbitration().kills() + run.arbitration().failures()),
            new Measure("time to relief p50", "reliefP50Millis", Unit.MILLIS, run -> run.arbitration().reliefP50Nanos() / 1e6),
            new Measure("time to relief p99", "reliefP99Millis", Unit.MILLIS, run -> run.arbitration().reliefP99Nanos() / 1e6));

    /** A measure over several runs; {@code min} and {@code max} are those of single runs. */
    record Spread(double mean, double min, double max)
    {
        static Spread of(List<RunResult> runs, ToDoubleFunction<RunResult> measure)
        {
            DoubleSummaryStatistics statistics = runs.stream().mapToDouble(measure).summaryStatistics();
            return new Spread(statistics.getAverage(), statistics.getMin(), statistics.getMax());
        }
    }

    /**
     * One value's runs, one per seed, and every measure's spread over them.
     *
     * @param cleanRuns runs with no wrong result, no JVM out of memory, no internal error, no memory or spill file left
     * @param summary keyed by {@link Measure#field()}, in {@link #MEASURES} order
     */
    record ValueRuns(String value, List<Long> seeds, int cleanRuns, Map<String, Spread> summary, List<RunResult> runs) {}

    /** What {@code --json} writes with {@code --repeat} above 1. */
    record Repeated(String key, int repeat, List<ValueRuns> values)
    {
        /** @param runs in run order: one round of every value per seed */
        static Repeated of(Variation variation, int repeat, List<RunResult> runs)
        {
            List<ValueRuns> values = new ArrayList<>();
            for (int i = 0; i < variation.values().size(); i++) {
                List<RunResult> own = new ArrayList<>();
                for (int round = 0; round < repeat; round++) {
                    own.add(runs.get(round * variation.values().size() + i));
                }
                Map<String, Spread> summary = new LinkedHashMap<>();
                MEASURES.forEach(measure -> summary.put(measure.field(), Spread.of(own, measure.value())));
                int clean = (int) own.stream().filter(run -> run.totals().clean()).count();
                values.add(new ValueRuns(variation.values().get(i), own.stream().map(RunResult::seed).toList(), clean, summary, own));
            }
            return new Repeated(variation.key(), repeat, values);
        }
    }

    /** Each value's runs summarized side by side: a row per measure, a column per value; cells {@code mean (min-max)}. */
    static String repeatTable(Repeated repeated)
    {
        Map<String, List<String>> rows = new LinkedHashMap<>();
        for (Measure measure : MEASURES) {
            rows.put(measure.row(), repeated.values().stream().map(value -> format(measure.unit(), value.summary().get(measure.field()))).toList());
        }
        rows.put("clean runs", repeated.values().stream().map(value -> value.cleanRuns() + "/" + value.runs().size()).toList());
        int labelWidth = Math.max(repeated.key().length(), rows.keySet().stream().mapToInt(String::length).max().orElse(0));
        List<Integer> widths = new ArrayList<>();
        for (int i = 0; i < repeated.values().size(); i++) {
            int column = i;
            widths.add(Math.max(repeated.values().get(i).value().length(), rows.values().stream().mapToInt(cells -> cells.get(column).length()).max().orElse(0)));
        }
        StringBuilder table = new StringBuilder(pad(repeated.key(), labelWidth));
        for (int i = 0; i < repeated.values().size(); i++) {
            table.append("  ").append(padLeft(repeated.values().get(i).value(), widths.get(i)));
        }
        table.append('\n');
        rows.forEach((name, cells) -> {
            table.append(pad(name, labelWidth));
            for (int i = 0; i < cells.size(); i++) {
                table.append("  ").append(padLeft(cells.get(i), widths.get(i)));
            }
            table.append('\n');
        });
        List<Long> seeds = repeated.values().get(0).seeds();
        table.append(String.format(Locale.ROOT, "%s per value, seeds %d..%d; a cell is the mean (min-max) of the runs%n",
                RunCommand.count(repeated.repeat(), "run", "runs"), seeds.get(0), seeds.get(seeds.size() - 1)));
        return table.toString();
    }

    /** {@code 27.4 (26-29)}, {@code 1.52s (0.81-2.9)}, {@code 65.2MB (10.4-110)}; the range only when the runs differ. */
    static String format(Unit unit, Spread spread)
    {
        double scale = 1;
        String suffix = "";
        double largest = Math.max(Math.abs(spread.min()), Math.abs(spread.max()));
        switch (unit) {
            case COUNT -> { }
            case MILLIS -> {
                if (largest >= 1000) {
                    scale = 1000;
                    suffix = "s";
                }
                else if (largest >= 1 || largest == 0) {
                    suffix = "ms";
                }
                else {
                    scale = 1e-3;
                    suffix = "us";
                }
            }
            case BYTES -> {
                suffix = "B";
                for (String prefix : List.of("kB", "MB", "GB", "TB")) {
                    if (largest / scale < 1024) {
                        break;
                    }
                    scale *= 1024;
                    suffix = prefix;
                }
            }
        }
        String text = number(spread.mean() / scale) + suffix;
        if (spread.min() != spread.max()) {
            text += " (" + number(spread.min() / scale) + "-" + number(spread.max() / scale) + ")";
        }
        return text;
    }

    // three significant digits, at most two decimals, no trailing zeros: 27.4, 0.05, 110, 1234
    private static String number(double value)
    {
        double magnitude = Math.abs(value);
        int decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
        String text = String.format(Locale.ROOT, "%." + decimals + "f", value);
        if (text.contains(".")) {
            text = text.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return text.equals("-0") ? "0" : text;
    }

    private static String pad(String text, int width)
    {
        return text + " ".repeat(Math.max(0, width - text.length()));
    }

    private static String padLeft(String text, int width)
    {
        return " ".repeat(Math.max(0, width - text.length())) + text;
    }
}
