package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.lab.RunResult.QueryResult;
import io.memgov.lab.RunResult.Totals;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.DataSizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = {
                "Runs a workload of concurrent queries (hash aggregations and sorts doing real work on generated data) on the embedded cluster "
                        + "(or, with --processes, on one worker JVM per node), "
                        + "prints a progress line and a summary, and checks every finished query's result against an independently computed answer.",
                "Without --workload it runs the default workload: --queries hash aggregations of --rows rows per task, a third of them large enough "
                        + "to oversubscribe the default cluster.",
                "Exit code 0: the run completed; 1: a wrong result, a JVM OutOfMemoryError, or memory or spill files left after the run; "
                        + "2: bad arguments, configuration or workload file."})
final class RunCommand
        implements Callable<Integer>
{
    @Option(names = "--config", paramLabel = "FILE", description = "Engine properties file, over the lab's built-in defaults (etc/memory.properties): "
            + "it sets only the keys it names. Repeatable: later files win.")
    List<Path> configs = new ArrayList<>();

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "One property over the files and the workload's, e.g. "
            + "query.low-memory-killer.policy=total-reservation. Repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--explain", description = "Prints every property in force and which layer set it (default, a --config file, "
            + "the workload, --set), and exits without running.")
    boolean explain;

    @Option(names = "--workload", paramLabel = "FILE", description = "Workload file, YAML or JSON (see etc/workloads/*.yaml). Default: the built-in workload.")
    Path workload;

    @Option(names = "--queries", paramLabel = "N", description = "Queries of the default workload (default: 12). Not with --workload.")
    Integer queries;

    @Option(names = "--rows", paramLabel = "N", description = "Rows per task of the default workload (default: 600000). Not with --workload.")
    Integer rows;

    @Option(names = "--seed", paramLabel = "N", description = "Seed for sizes and data, replacing the workload's.")
    Long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Writes per-query results and totals as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", description = "Writes a chart of pool use per node over time (kills marked) and an HTML page with the tables.")
    Path report;

    @Option(names = "--png", paramLabel = "FILE", description = "Writes the chart of pool use per node over time as one PNG file.")
    Path png;

    @Option(names = "--http", paramLabel = "PORT", description = "Serves /v1/memory and /v1/cluster/memory as JSON on 127.0.0.1:PORT while the run lasts (0: a free port).")
    Integer http;

    @Option(names = "--processes", description = "Runs every node in its own worker JVM (-Xmx: the node's heap, node.heap-size, and 32MB for the JVM's own "
            + "Hazelcast member and engine), the nodes joined by the Hazelcast cluster transport on 127.0.0.1; the coordinator's loop runs in one of them. "
            + "Also set by 'processes: true' in a workload file.")
    boolean processes;

    @Option(names = Chaos.OPTION, paramLabel = "KILLS", description = "With --processes: kills worker JVMs mid-run, e.g. kill-coordinator@5s,kill-node:1@8s "
            + "(the process that coordinates at 5s, then node-1's at 8s).")
    String chaos;

    @Override
    public Integer call()
            throws Exception
    {
        Workload chosen = chooseWorkload(workload, queries, rows, seed);
        LabConfig.Resolved resolved = LabConfig.resolve(configs, chosen.name(), chosen.properties(), LabConfig.parseSets(sets));
        PrintStream out = System.out;
        if (explain) {
            out.print(resolved.explain());
            // building the engine checks every key and value, as a run would
            resolved.engine().withoutJmx().build().close();
            return 0;
        }
        checkWritable(json, report);
        checkWritable(png, null);
        boolean inProcesses = processes || chosen.processes();
        Chaos kills = parseChaos(chaos, inProcesses);
        if (inProcesses && http != null) {
            throw new BadInputException("--http serves the memory of the engine in the lab's JVM; with --processes every node's engine runs in its "
                    + "own JVM, so the two cannot be combined");
        }
        RunResult result = inProcesses ? runInProcesses(chosen, resolved, chosen.name(), kills, out, "")
                : runEmbedded(chosen, resolved, out);
        printSummary(out, result);
        if (json != null) {
            Reports.writeJson(json, result, "--json");
            out.println("wrote " + json);
        }
        if (report != null) {
            out.println("wrote " + Reports.writeRunReport(report, result, "memgov lab: " + result.label()));
        }
        if (png != null) {
            Reports.writeRunPng(png, result, "memgov lab: " + result.label());
            out.println("wrote " + png);
        }
        return result.totals().clean() ? 0 : 1;
    }

    private RunResult runEmbedded(Workload chosen, LabConfig.Resolved resolved, PrintStream out)
            throws Exception
    {
        resolved.spill(Path.of(System.getProperty("java.io.tmpdir")));
        try (MemoryEngine engine = resolved.engine().build();
                MemoryHttpServer server = http == null ? null : MemoryHttpServer.start(engine, http)) {
            RunResult.Settings settings = RunResult.Settings.of(engine, resolved);
            out.print(header("", chosen, engine.nodes().size(), engine.node(0).pool().maxBytes(), settings, ""));
            if (server != null) {
                out.printf("serving %s/v1/memory (the nodes) and %s/v1/cluster/memory while the run lasts%n", server.baseUrl(), server.baseUrl());
            }
            ProgressPrinter progress = ProgressPrinter.forStandardOutput("");
            RunResult result = new WorkloadRunner(engine, chosen, chosen.name(), resolved).run(progress);
            progress.finish();
            return result;
        }
    }

    /**
     * The lines before a run: the workload, how many queries on how many nodes, each node's pool, a query's limits per
     * node and over the cluster, and the killers.
     */
    static String header(String indent, Workload chosen, int nodes, long poolBytes, RunResult.Settings settings, String extra)
    {
        List<String> lines = List.of(
                String.format("memgov lab: workload '%s', %s on %s%s", chosen.name(), count(chosen.expand().size(), "query", "queries"),
                        count(nodes, "node", "nodes"), extra),
                String.format("pool %s per node; a query may hold %s per node, %s cluster-wide", DataSizes.succinct(poolBytes),
                        DataSizes.succinct(settings.queryMaxMemoryPerNodeBytes()), DataSizes.succinct(settings.queryMaxMemoryBytes())),
                String.format("killers: task '%s', query '%s'; arbitrator '%s'", settings.policy(PolicyFamily.TASK_KILLER),
                        settings.policy(PolicyFamily.QUERY_KILLER), settings.policy(PolicyFamily.ARBITRATOR)));
        StringBuilder text = new StringBuilder();
        lines.forEach(line -> Reports.wrap(line, indent, indent + "  ").forEach(wrapped -> text.append(wrapped).append('\n')));
        return text.toString();
    }

    /**
     * One run with a worker JVM per node ({@code run --processes}, and each run of {@code compare --processes}): the
     * properties are checked by an engine in this JVM first, so that a bad value stops the run before any JVM starts.
     */
    static RunResult runInProcesses(Workload chosen, LabConfig.Resolved resolved, String label, Chaos kills, PrintStream out, String indent)
            throws Exception
    {
        Map<String, String> properties = resolved.properties();
        RunResult.Settings settings;
        long poolBytes;
        int nodes;
        try (MemoryEngine checked = LabConfig.checkedForProcesses(properties).build()) {
            settings = RunResult.Settings.of(checked, resolved);
            poolBytes = checked.node(0).pool().maxBytes();
            nodes = checked.nodes().size();
        }
        ProcessWorkloadRunner runner = new ProcessWorkloadRunner(properties, chosen, label, kills, out, indent);
        out.print(header(indent, chosen, nodes, poolBytes, settings, ", each in its own JVM"));
        out.printf("%sheap %s per node; Hazelcast cluster transport on 127.0.0.1%s%n", indent, DataSizes.succinct(runner.heapBytes()),
                kills.isEmpty() ? "" : "; chaos " + kills);
        ProgressPrinter progress = ProgressPrinter.forStandardOutput(indent);
        RunResult result = runner.run(progress);
        progress.finish();
        return result.withSettings(settings);
    }

    /** {@code --chaos}, which needs worker processes to kill. */
    static Chaos parseChaos(String text, boolean processes)
    {
        if (text == null) {
            return Chaos.NONE;
        }
        if (!processes) {
            throw new BadInputException("invalid use of '" + Chaos.OPTION + "': it kills worker JVMs, which only --processes (or 'processes: true' "
                    + "in the workload) starts");
        }
        return Chaos.parse(text);
    }

    /** The workload file, or the default one shaped by {@code --queries} and {@code --rows}. */
    static Workload chooseWorkload(Path file, Integer queries, Integer rows, Long seed)
    {
        Workload chosen;
        if (file != null) {
            if (queries != null || rows != null) {
                throw new BadInputException("--queries and --rows shape the default workload; with --workload '" + file
                        + "' set 'count' and 'rows' in the file instead");
            }
            chosen = Workload.read(file);
        }
        else {
            try {
                chosen = Workload.defaultWorkload(queries == null ? 12 : queries, rows == null ? 600_000 : rows);
            }
            catch (IllegalArgumentException e) {
                throw new BadInputException(e.getMessage());
            }
        }
        return seed == null ? chosen : new Workload(chosen.name(), seed, chosen.properties(), chosen.queries(), chosen.processes());
    }

    static void printSummary(PrintStream out, RunResult result)
    {
        out.println();
        // 80 columns: the error codes and who killed are in the lines under the table
        String format = "%-5s %-10s %-16s %-8s %9s %8s %7s %s%n";
        out.printf(format, "query", "user", "operator", "status", "peak", "spilled", "cpu", "result");
        for (QueryResult query : result.queries()) {
            out.printf(format, query.id(), query.user(), query.operator(), query.status(),
                    DataSizes.succinct(query.peakBytes()), DataSizes.succinct(query.spilledBytes()),
                    Reports.millis(query.cpuNanos() / 1_000_000), Reports.resultText(query));
        }
        // a query's limits are per node and over the cluster; its peak is the latter's measure
        out.println("(peak: the most a query held at once, all its nodes together)");
        List<String> outcomes = Reports.outcomeLines(result);
        if (!outcomes.isEmpty()) {
            out.println();
            outcomes.forEach(out::println);
        }
        Totals totals = result.totals();
        out.printf(Locale.ROOT, "%nfinished %d, killed %d, failed %d, wrong results %d, JVM OutOfMemoryErrors %d%n"
                        + "wasted CPU %s, spilled %s, wall %s%n"
                        + "peak pool use (largest node) %s of %s per node%n"
                        + "after the run: %s reserved, %s left%n",
                totals.finished(), totals.killed(), totals.failed(), totals.wrongResults(), totals.jvmOutOfMemoryErrors(),
                Reports.millis(totals.wastedCpuNanos() / 1_000_000), DataSizes.succinct(totals.spilledBytes()), Reports.millis(totals.wallMillis()),
                DataSizes.succinct(totals.peakPoolBytes()), DataSizes.succinct(result.poolBytes()),
                DataSizes.succinct(totals.reservedBytesAfterRun()), count(totals.spillFilesLeft(), "spill file", "spill files"));
        if (totals.peakPoolBytes() > result.poolBytes()) {
            out.println(OVER_COMMIT);
        }
        out.println(heapSummary(result.heap()));
        if (!result.processes().isEmpty()) {
            out.println();
            String processFormat = "%-8s %8s %8s %10s %15s %12s %8s %5s %s%n";
            out.printf(processFormat, "process", "pid", "-Xmx", "peak heap", "peak untracked", "GCs (y/full)", "GC time", "OOMEs", "end");
            for (RunResult.WorkerFigures process : result.processes()) {
                out.printf(processFormat, process.node(), process.pid(), DataSizes.succinct(process.maxHeapBytes()),
                        DataSizes.succinct(process.peakHeapBytes()), DataSizes.succinct(process.peakUntrackedBytes()),
                        process.youngCollections() + "/" + process.fullCollections(), Reports.millis(process.gcMillis()), process.jvmOutOfMemoryErrors(),
                        process.end());
            }
        }
        if (!totals.clean()) {
            out.println("FAILED: " + (totals.wrongResults() > 0 ? "wrong results; " : "") + (totals.jvmOutOfMemoryErrors() > 0 ? "JVM OutOfMemoryError; " : "")
                    + (totals.workersLost() > 0 ? "a worker JVM ended during the run; " : "")
                    + (totals.internalErrors() > 0 ? "the lab failed running a query (INTERNAL_ERROR); " : "")
                    + (totals.reservedBytesAfterRun() > 0 ? "memory still reserved after the run; " : "")
                    + (totals.spillFilesLeft() > 0 ? "spill files left after the run" : ""));
        }
    }

    /** Why a pool's use can pass its maximum: printed when it did. */
    static final String OVER_COMMIT = "pools go over their max by design, as in Trino: crossing it blocks the node";

    /**
     * The real heap in three lines: how close the JVM came to its max heap (all nodes: they share it), and how much
     * memgov did not track.
     */
    static String heapSummary(RunResult.Heap heap)
    {
        return String.format(Locale.ROOT, "heap: max %s, pools %s (%s), peak live heap %s,%n"
                        + "peak untracked %s, effective pool maxima down to %s,%n%d young / %d full collections, heap-pressure kills %d",
                DataSizes.succinct(heap.maxHeapBytes()), DataSizes.succinct(heap.poolBytes()), heap.governed() ? "governing the heap" : "not governing the heap",
                DataSizes.succinct(heap.peakLiveBytes()), DataSizes.succinct(heap.peakUntrackedBytes()), DataSizes.succinct(heap.leastEffectiveMaxBytes()),
                heap.youngCollections(), heap.fullCollections(), heap.queriesKilledDueToHeapPressure());
    }

    /** {@code 1 query}, {@code 2 queries}. */
    static String count(long count, String singular, String plural)
    {
        return count + " " + (count == 1 ? singular : plural);
    }

    /** Fails before the run, not after it, when an output cannot be written. */
    static void checkWritable(Path json, Path report)
    {
        try {
            if (json != null && json.toAbsolutePath().getParent() != null) {
                Files.createDirectories(json.toAbsolutePath().getParent());
            }
        }
        catch (java.io.IOException e) {
            throw new BadInputException("invalid value '" + json + "' for '--json': cannot create its directory (" + e + ")");
        }
        try {
            if (report != null) {
                Files.createDirectories(report);
            }
        }
        catch (java.io.IOException e) {
            throw new BadInputException("invalid value '" + report + "' for '--report': cannot create the directory (" + e + ")");
        }
    }
}
