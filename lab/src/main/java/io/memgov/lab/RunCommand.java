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
    @Option(names = "--config", paramLabel = "FILE", description = "Engine properties file (default: the lab's embedded configuration, as etc/memory.properties).")
    Path config;

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
        checkWritable(json, report);
        boolean inProcesses = processes || chosen.processes();
        Chaos kills = parseChaos(chaos, inProcesses);
        if (inProcesses && http != null) {
            throw new BadInputException("--http serves the memory of the engine in the lab's JVM; with --processes every node's engine runs in its "
                    + "own JVM, so the two cannot be combined");
        }
        PrintStream out = System.out;
        RunResult result = inProcesses ? runInProcesses(chosen, LabConfig.properties(config, chosen.properties()), chosen.name(), kills, out, "")
                : runEmbedded(chosen, out);
        printSummary(out, result);
        if (json != null) {
            Reports.writeJson(json, result, "--json");
            out.println("wrote " + json);
        }
        if (report != null) {
            out.println("wrote " + Reports.writeRunReport(report, result, "memgov lab: " + result.label()));
        }
        return result.totals().clean() ? 0 : 1;
    }

    private RunResult runEmbedded(Workload chosen, PrintStream out)
            throws Exception
    {
        try (MemoryEngine engine = LabConfig.engine(config, chosen.properties()).build();
                MemoryHttpServer server = http == null ? null : MemoryHttpServer.start(engine, http)) {
            out.printf("memgov lab: workload '%s', %s on %s; pool %s per node; killers: task '%s', query '%s'%n",
                    chosen.name(), count(chosen.expand().size(), "query", "queries"), count(engine.nodes().size(), "node", "nodes"),
                    DataSizes.succinct(engine.node(0).pool().maxBytes()),
                    engine.policyName(PolicyFamily.TASK_KILLER),
                    engine.policyName(PolicyFamily.QUERY_KILLER));
            if (server != null) {
                out.printf("serving %s/v1/memory and %s/v1/cluster/memory while the run lasts%n", server.baseUrl(), server.baseUrl());
            }
            ProgressPrinter progress = ProgressPrinter.forStandardOutput("");
            RunResult result = new WorkloadRunner(engine, chosen, chosen.name()).run(progress);
            progress.finish();
            return result;
        }
    }

    /**
     * One run with a worker JVM per node ({@code run --processes}, and each run of {@code compare --processes}): the
     * properties are checked by an engine in this JVM first, so that a bad value stops the run before any JVM starts.
     */
    static RunResult runInProcesses(Workload chosen, Map<String, String> properties, String label, Chaos kills, PrintStream out, String indent)
            throws Exception
    {
        String killers;
        long poolBytes;
        int nodes;
        try (MemoryEngine checked = LabConfig.checkedForProcesses(properties).build()) {
            killers = String.format("killers: task '%s', query '%s'", checked.policyName(PolicyFamily.TASK_KILLER), checked.policyName(PolicyFamily.QUERY_KILLER));
            poolBytes = checked.node(0).pool().maxBytes();
            nodes = checked.nodes().size();
        }
        ProcessWorkloadRunner runner = new ProcessWorkloadRunner(properties, chosen, label, kills, out, indent);
        out.printf("%smemgov lab: workload '%s', %s on %s, each in its own JVM (Hazelcast cluster transport on 127.0.0.1); heap %s and pool %s per node; %s%s%n",
                indent, chosen.name(), count(chosen.expand().size(), "query", "queries"), count(nodes, "node", "nodes"),
                DataSizes.succinct(runner.heapBytes()), DataSizes.succinct(poolBytes), killers, kills.isEmpty() ? "" : "; chaos " + kills);
        ProgressPrinter progress = ProgressPrinter.forStandardOutput(indent);
        RunResult result = runner.run(progress);
        progress.finish();
        return result;
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
        String format = "%-6s %-10s %-22s %-9s %-28s %10s %10s %9s %s%n";
        out.printf(format, "query", "user", "operator", "status", "error", "peak", "spilled", "cpu", "result");
        for (QueryResult query : result.queries()) {
            out.printf(format, query.id(), query.user(), query.operator(), query.status(), query.errorCode(),
                    DataSizes.succinct(query.peakBytes()), DataSizes.succinct(query.spilledBytes()),
                    Reports.millis(query.cpuNanos() / 1_000_000), Reports.resultText(query));
        }
        Totals totals = result.totals();
        out.printf(Locale.ROOT, "%nfinished %d, killed %d, failed %d, wrong results %d, JVM OutOfMemoryErrors %d, wasted CPU %s, peak pool use %s, "
                        + "spilled %s, reserved after run %s, spill files left %d, wall %d ms%n",
                totals.finished(), totals.killed(), totals.failed(), totals.wrongResults(), totals.jvmOutOfMemoryErrors(),
                Reports.millis(totals.wastedCpuNanos() / 1_000_000), DataSizes.succinct(totals.peakPoolBytes()),
                DataSizes.succinct(totals.spilledBytes()), DataSizes.succinct(totals.reservedBytesAfterRun()), totals.spillFilesLeft(), totals.wallMillis());
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

    /** The real heap in one line: how close the JVM came to its max heap, and how much memgov did not track. */
    static String heapSummary(RunResult.Heap heap)
    {
        return String.format(Locale.ROOT, "heap: max %s, pools %s (%s), peak live heap %s, peak untracked %s, effective pool maxima down to %s, "
                        + "%d young / %d full collections, heap-pressure kills %d",
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
