package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.lab.RunResult.Totals;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {
                "Runs the same workload once for each value of one engine property and prints the runs side by side: finished, killed, failed, "
                        + "wasted work (CPU time of killed and failed queries), peak pool use, spilled bytes and wall time.",
                "Example: compare --workload etc/workloads/oversubscribed.yaml "
                        + "--set query.low-memory-killer.policy=none,total-reservation,total-reservation-on-blocked-nodes",
                "Exit code 0: every run completed; 1: a run had a wrong result, a JVM OutOfMemoryError, or left memory or spill files behind; "
                        + "2: bad arguments, configuration or workload file."})
final class CompareCommand
        implements Callable<Integer>
{
    @Option(names = "--config", paramLabel = "FILE", description = "Engine properties file (default: the lab's embedded configuration).")
    Path config;

    @Option(names = "--workload", paramLabel = "FILE", required = true, description = "Workload file, YAML or JSON.")
    Path workload;

    @Option(names = "--set", paramLabel = "KEY=V1,V2,...", required = true, description = "The engine property to vary and its values, one run each.")
    String set;

    @Option(names = "--json", paramLabel = "FILE", description = "Writes every run (queries, totals, timeline) as a JSON array.")
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

    @Override
    public Integer call()
            throws Exception
    {
        Variation variation = Variation.parse(set);
        Workload chosen = Workload.read(workload);
        RunCommand.checkWritable(json, report);
        boolean inProcesses = processes || chosen.processes();
        // every engine is built once up front, so a bad value fails before any run, not after the first ones
        for (String value : variation.values()) {
            if (inProcesses) {
                LabConfig.checkedForProcesses(properties(chosen, variation.key(), value)).build().close();
            }
            else {
                engine(chosen, variation.key(), value).build().close();
            }
        }
        PrintStream out = System.out;
        List<RunResult> runs = new ArrayList<>();
        for (String value : variation.values()) {
            String label = variation.key() + "=" + value;
            out.printf("run %d/%d: %s%n", runs.size() + 1, variation.values().size(), label);
            if (inProcesses) {
                runs.add(RunCommand.runInProcesses(chosen, properties(chosen, variation.key(), value), label, Chaos.NONE, out, "  "));
                continue;
            }
            try (MemoryEngine engine = engine(chosen, variation.key(), value).build()) {
                ProgressPrinter progress = ProgressPrinter.forStandardOutput("  ");
                runs.add(new WorkloadRunner(engine, chosen, label).run(progress));
                progress.finish();
            }
        }
        out.println();
        out.print(table(variation, runs));
        if (json != null) {
            Reports.writeJson(json, runs, "--json");
            out.println("wrote " + json);
        }
        if (report != null) {
            out.println("wrote " + Reports.writeCompareReport(report, runs, "memgov lab: " + chosen.name() + ", varying " + variation.key()));
        }
        return runs.stream().allMatch(run -> run.totals().clean()) ? 0 : 1;
    }

    private MemoryEngine.Builder engine(Workload chosen, String key, String value)
    {
        return MemoryEngine.builder().properties(properties(chosen, key, value));
    }

    private Map<String, String> properties(Workload chosen, String key, String value)
    {
        Map<String, String> overrides = new LinkedHashMap<>(chosen.properties());
        overrides.put(key, value);
        return LabConfig.properties(config, overrides);
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

    private static String pad(String text, int width)
    {
        return text + " ".repeat(Math.max(0, width - text.length()));
    }

    private static String padLeft(String text, int width)
    {
        return " ".repeat(Math.max(0, width - text.length())) + text;
    }
}
