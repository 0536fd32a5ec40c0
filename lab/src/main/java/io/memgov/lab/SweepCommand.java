package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.memgov.lab.SweepChild.Run;
import io.memgov.lab.SweepSettings.Governance;
import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;

@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {
                "Runs workloads in child JVMs of several heap sizes (the lab itself: java -Xmx<size> ... run), with memgov governing their memory "
                        + "and without, each several times, and prints a table per workload: per heap size and governance, the runs that ended clean, "
                        + "queries finished, killed and failed, JVM OutOfMemoryErrors (anywhere in the child: a query's thread, an engine thread, or a "
                        + "child that died), the most heap in use after a collection (from the child's GC log), and the mean wall time.",
                "Governed (on), every child runs with memgov's heap defaults: the workload's node.heap-size, memory.heap-headroom-per-node, "
                        + "node.heap-governed and memory.heap.* are dropped (each node governs -Xmx / cluster.node-count and keeps 30%% of it out of "
                        + "its pool), and its per-node query limits become the same bytes as a share of that node, at most its pool.",
                "Ungoverned (off), memgov grants every reservation at once: pools of " + SweepSettings.UNGOVERNED_NODE_HEAP + " a node, "
                        + "node.heap-governed=false, query limits as large; nothing is revoked, spilled or killed, only the JVM's heap stops the workload.",
                "The sweep prints what it changed in each workload's properties.",
                "Exit code 0: every governed run ended clean (no OutOfMemoryError, every finished query verified, nothing reserved or left on disk); "
                        + "1: a governed run did not (the ungoverned runs show what memgov prevents and do not count); "
                        + "2: bad arguments, configuration or workload file."})
final class SweepCommand
        implements Callable<Integer>
{
    static final String DEFAULT_XMX = "96m,128m,160m,256m";
    /** What a line of the printed table may take, as a terminal shows it. */
    static final int WIDTH = 80;

    @Option(names = "--workload", paramLabel = "FILE", required = true, split = ",", description = "Workload files, YAML or JSON, separated by commas.")
    List<Path> workloads;

    @Option(names = "--xmx", paramLabel = "SIZE", split = ",", defaultValue = DEFAULT_XMX,
            description = "Heap sizes of the child JVMs, as -Xmx takes them, separated by commas (default: ${DEFAULT-VALUE}).")
    List<String> heapSizes;

    @Option(names = "--governance", paramLabel = "on|off", split = ",", defaultValue = "on,off",
            description = "Run each workload governed by memgov (on), without governance (off), or both, separated by a comma (default: ${DEFAULT-VALUE}).")
    List<String> governanceModes;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "3",
            description = "Runs of each workload at each heap size and governance (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--config", paramLabel = "FILE", description = "Engine properties file under the workloads' own (default: the lab's embedded configuration).")
    Path config;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10m",
            description = "The longest one child may run before it is destroyed and counted as timed out (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(names = "--json", paramLabel = "FILE", description = "Writes every run and the table as JSON.")
    Path json;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where each child's configuration, log, JSON result and heap dump go (default: a temporary directory, deleted unless a "
                    + "governed run did not end clean).")
    Path workDirectory;

    @Option(names = "--heap-dump",
            description = "Children write a heap dump on their first OutOfMemoryError (-XX:+HeapDumpOnOutOfMemoryError), into their directory.")
    boolean heapDump;

    @Option(names = "--jvm-option", paramLabel = "OPTION",
            description = "One more option for every child JVM, e.g. --jvm-option=-XX:+UseSerialGC; repeatable. The sweep's point is the defaults: "
                    + "an option that adds heap headroom measures something else.")
    List<String> jvmOptions = new ArrayList<>();

    /**
     * A workload as the children run it: its file without properties, and the properties for each heap size and governance.
     *
     * @param name unique in the sweep, safe in a file name
     * @param source the workload file as given
     * @param withoutProperties the workload as the children read it: the same queries, no properties
     * @param queries the queries of one run
     */
    record Prepared(String name, Path source, JsonNode withoutProperties, int queries, Map<Governance, Map<String, SweepSettings.Derived>> settings) {}

    /**
     * One workload at one heap size and governance, over its runs.
     *
     * @param queries the queries of all its runs, those of a run that crashed included
     * @param killed queries killed over all runs, by error code
     * @param failed queries failed over all runs, by error code
     * @param jvmOutOfMemoryErrors over all runs
     * @param timedOutRuns runs destroyed on timeout
     * @param crashedRuns runs that ended without a result, or left an {@code hs_err} file
     * @param peakHeapAfterGcBytes the most of any run ({@link Run#peakHeapAfterGcBytes()}); 0 when no run logged a pause
     * @param poolBytes the pools the nodes govern (as configured, summed over the nodes)
     * @param peakUntrackedBytes the most of any run
     * @param meanWallMillis the runs' mean wall time
     * @param cleanRuns runs that ended clean ({@link Run#clean()})
     * @param outOfMemoryAt the queries an {@code OutOfMemoryError} failed, by where it was thrown: the innermost frame of
     * the lab or memgov ({@link #thrownAt})
     */
    record Row(String workload, String xmx, Governance governance, int runs, int queries, int finished, Map<String, Integer> killed,
            Map<String, Integer> failed, long jvmOutOfMemoryErrors, int timedOutRuns, int crashedRuns, long peakHeapAfterGcBytes, long maxHeapBytes,
            long poolBytes, long peakUntrackedBytes, long spilledBytes, long heapPressureKills, long meanWallMillis, int cleanRuns,
            Map<String, Integer> outOfMemoryAt) {}

    /**
     * What {@code --json} writes.
     *
     * @param changes per workload and governance, what the sweep changed in the workload's properties
     */
    record Sweep(List<String> heapSizes, List<Governance> governance, int repeat, Map<String, Map<Governance, List<String>>> changes, List<Row> table,
            List<Run> runs) {}

    @Override
    public Integer call()
            throws Exception
    {
        if (repeat < 1 || repeat > 100) {
            throw new BadInputException("invalid value '" + repeat + "' for '--repeat': expected a number of runs from 1 to 100");
        }
        Duration limit = parseTimeout(timeout);
        Map<String, Long> heaps = new LinkedHashMap<>();
        for (String size : heapSizes) {
            long bytes = SweepSettings.parseXmx(size);
            if (heaps.put(size.trim(), bytes) != null) {
                throw new BadInputException("invalid value '" + String.join(",", heapSizes) + "' for '--xmx': " + size.trim() + " is listed twice");
            }
        }
        Set<Governance> modes = new LinkedHashSet<>();
        for (String mode : governanceModes) {
            if (!modes.add(Governance.parse(mode))) {
                throw new BadInputException("invalid value '" + String.join(",", governanceModes) + "' for '--governance': " + mode.trim() + " is listed twice");
            }
        }
        for (String option : jvmOptions) {
            if (!option.startsWith("-") || option.startsWith("-Xmx") || option.startsWith("-XX:MaxHeapSize")) {
                throw new BadInputException("invalid value '" + option + "' for '--jvm-option': expected a JVM option starting with '-', "
                        + "other than the heap size (--xmx sets that)");
            }
        }
        RunCommand.checkWritable(json, null);
        // every workload read and every child's properties derived before anything is written: bad input changes nothing
        List<Prepared> prepared = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Path file : workloads) {
            prepared.add(prepare(file, heaps, modes, names));
        }
        boolean temporary = workDirectory == null;
        Path work = temporary ? Files.createTempDirectory("memgov-lab-sweep-") : Files.createDirectories(workDirectory);
        PrintStream out = System.out;
        Map<String, Path> workloadFiles = new HashMap<>();
        Map<List<Object>, Path> configs = new HashMap<>();
        for (Prepared workload : prepared) {
            workloadFiles.put(workload.name(), writeWorkload(workload, work));
            for (Governance mode : modes) {
                for (String xmx : heaps.keySet()) {
                    configs.put(List.of(workload.name(), mode, xmx), writeConfig(workload, mode, xmx, work));
                }
            }
        }

        int total = prepared.size() * heaps.size() * modes.size() * repeat;
        out.print(wrap("memgov lab sweep: ", String.format(Locale.ROOT, "%s at -Xmx %s, governance %s, %s each: %s (the lab's 'run' in a child JVM, "
                        + "at most %s each)", RunCommand.count(prepared.size(), "workload", "workloads"), String.join(", ", heaps.keySet()),
                modes.stream().map(Governance::label).collect(Collectors.joining(", ")), RunCommand.count(repeat, "run", "runs"),
                RunCommand.count(total, "child JVM", "child JVMs"), PolicyConfig.format(limit)), "  "));
        for (Prepared workload : prepared) {
            for (Governance mode : modes) {
                List<String> changes = changes(workload, mode);
                out.print(wrap("  " + workload.name() + ", governance " + mode.label() + ": ", changes.isEmpty() ? "nothing changed" : String.join("; ", changes),
                        "    "));
            }
        }
        if (!jvmOptions.isEmpty()) {
            out.print(wrap("  child JVM options: ", String.join(" ", jvmOptions), "    "));
        }

        List<Run> runs = new ArrayList<>();
        for (Prepared workload : prepared) {
            for (String xmx : heaps.keySet()) {
                for (Governance mode : modes) {
                    for (int run = 1; run <= repeat; run++) {
                        Path directory = work.resolve(workload.name() + "-" + xmx + "-" + mode.label() + "-" + run);
                        Run result;
                        try {
                            result = SweepChild.run(workload.name(), xmx, mode, run, configs.get(List.of(workload.name(), mode, xmx)),
                                    workloadFiles.get(workload.name()), directory, limit, heapDump, jvmOptions);
                        }
                        catch (BadInputException e) {
                            // a child refused what the sweep derived (a key the engine rejects at that heap size): no run is worth keeping
                            if (temporary) {
                                deleteRecursively(work);
                            }
                            throw e;
                        }
                        runs.add(result);
                        out.print(wrap("[" + runs.size() + "/" + total + "] ", describe(result, repeat), "    "));
                    }
                }
            }
        }

        Map<String, Integer> queries = new LinkedHashMap<>();
        prepared.forEach(workload -> queries.put(workload.name(), workload.queries()));
        List<Row> table = table(runs, queries);
        out.println();
        out.print(text(table));
        if (json != null) {
            Map<String, Map<Governance, List<String>>> changes = new LinkedHashMap<>();
            for (Prepared workload : prepared) {
                Map<Governance, List<String>> byMode = new LinkedHashMap<>();
                modes.forEach(mode -> byMode.put(mode, changes(workload, mode)));
                changes.put(workload.name(), byMode);
            }
            Reports.writeJson(json, new Sweep(List.copyOf(heaps.keySet()), List.copyOf(modes), repeat, changes, table, runs), "--json");
            out.println("wrote " + json);
        }
        List<Run> governedNotClean = runs.stream().filter(run -> run.governance() == Governance.ON && !run.clean()).toList();
        if (governedNotClean.isEmpty() && temporary) {
            deleteRecursively(work);
        }
        else {
            out.print(wrap("kept ", work + ": each run's configuration, log, GC log, JSON result" + (heapDump ? " and heap dump" : ""), "  "));
        }
        if (!governedNotClean.isEmpty()) {
            out.println("FAILED: " + governedNotClean.size() + " of " + runs.stream().filter(run -> run.governance() == Governance.ON).count()
                    + " governed runs did not end clean");
            return 1;
        }
        return 0;
    }

    private static Duration parseTimeout(String value)
    {
        Duration parsed;
        try {
            parsed = PolicyConfig.parseDuration("--timeout", value);
        }
        catch (PolicyConfigException e) {
            parsed = null;
        }
        if (parsed == null || parsed.compareTo(Duration.ofSeconds(10)) < 0 || parsed.compareTo(Duration.ofHours(24)) > 0) {
            throw new BadInputException("invalid value '" + value + "' for '--timeout': expected a duration from 10s to 24h, such as 10m");
        }
        return parsed;
    }

    // reads and checks the workload, and derives the child's properties for every heap size and governance
    private Prepared prepare(Path file, Map<String, Long> heaps, Set<Governance> modes, Set<String> names)
            throws IOException
    {
        Workload workload = Workload.read(file);
        String name = workload.name().replaceAll("[^A-Za-z0-9._-]", "_");
        for (int suffix = 2; !names.add(name); suffix++) {
            name = workload.name().replaceAll("[^A-Za-z0-9._-]", "_") + "-" + suffix;
        }
        JsonNode tree = mapper(file).readTree(file.toFile());
        ((ObjectNode) tree).remove("properties");
        Map<String, String> properties = LabConfig.properties(config, workload.properties());
        Map<Governance, Map<String, SweepSettings.Derived>> settings = new LinkedHashMap<>();
        for (Governance mode : modes) {
            for (Map.Entry<String, Long> heap : heaps.entrySet()) {
                settings.computeIfAbsent(mode, ignored -> new LinkedHashMap<>()).put(heap.getKey(), mode.derive(properties, heap.getValue()));
            }
        }
        return new Prepared(name, file, tree, workload.expand().size(), settings);
    }

    private static ObjectMapper mapper(Path file)
    {
        return new ObjectMapper(isJson(file) ? null : new YAMLFactory());
    }

    private static boolean isJson(Path file)
    {
        return file.toString().endsWith(".json");
    }

    private static Path writeWorkload(Prepared workload, Path work)
            throws IOException
    {
        Path file = work.resolve(workload.name() + (isJson(workload.source()) ? ".json" : ".yaml"));
        mapper(workload.source()).writeValue(file.toFile(), workload.withoutProperties());
        return file;
    }

    private static Path writeConfig(Prepared workload, Governance mode, String xmx, Path work)
    {
        Path file = work.resolve(workload.name() + "-" + xmx + "-" + mode.label() + ".properties");
        StringBuilder text = new StringBuilder("# memgov lab sweep: " + workload.source() + " at -Xmx" + xmx + ", governance " + mode.label() + "\n");
        new TreeMap<>(workload.settings().get(mode).get(xmx).properties()).forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        write(file, text.toString(), "--work-dir");
        return file;
    }

    // what the sweep changed, the heap-size dependent lines once per heap size
    private static List<String> changes(Prepared workload, Governance mode)
    {
        Map<String, SweepSettings.Derived> settings = workload.settings().get(mode);
        Map<String, List<String>> byChange = new LinkedHashMap<>();
        settings.forEach((xmx, derived) -> derived.changes()
                .forEach(change -> byChange.computeIfAbsent(change, ignored -> new ArrayList<>()).add(xmx)));
        return byChange.entrySet().stream()
                .map(entry -> entry.getValue().size() == settings.size() ? entry.getKey() : entry.getKey() + " at -Xmx" + String.join(",", entry.getValue()))
                .toList();
    }

    /** One run in a line, as the sweep prints it when the run ends. */
    static String describe(Run run, int repeat)
    {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s -Xmx%s %s, run %d/%d: ", run.workload(), run.xmx(), run.governance().label(),
                run.run(), repeat));
        if (run.timedOut()) {
            line.append("TIMED OUT, ");
        }
        else if (run.crashed()) {
            line.append("CRASHED (exit ").append(run.exitCode()).append("), ");
        }
        line.append(String.format(Locale.ROOT, "finished %d of %d, killed %d%s, failed %d%s, JVM OOMs %d, peak heap after GC %s, %s",
                run.finished(), run.queries(), run.killedCount(), reasons(run.killed()), run.failedCount(), reasons(run.failed()), run.jvmOutOfMemoryErrors(),
                DataSizes.succinct(run.peakHeapAfterGcBytes()), Reports.millis(run.wallMillis())));
        if (!run.outOfMemoryAt().isEmpty()) {
            line.append(", OutOfMemoryError at ").append(counted(run.outOfMemoryAt().stream()
                    .collect(Collectors.toMap(SweepCommand::thrownAt, ignored -> 1, Integer::sum, TreeMap::new))));
        }
        line.append(run.clean() ? ", clean" : ", not clean: see " + run.directory());
        return line.toString();
    }

    private static String reasons(Map<String, Integer> byCode)
    {
        if (byCode.isEmpty()) {
            return "";
        }
        return byCode.entrySet().stream().map(entry -> entry.getKey() + " " + entry.getValue()).collect(Collectors.joining(", ", " (", ")"));
    }

    /**
     * One row per workload, heap size and governance, in the order they ran.
     *
     * @param queries each workload's queries in one run
     */
    static List<Row> table(List<Run> runs, Map<String, Integer> queries)
    {
        Map<List<Object>, List<Run>> groups = new LinkedHashMap<>();
        runs.forEach(run -> groups.computeIfAbsent(List.of(run.workload(), run.xmx(), run.governance()), ignored -> new ArrayList<>()).add(run));
        List<Row> rows = new ArrayList<>();
        for (List<Run> group : groups.values()) {
            Map<String, Integer> killed = new TreeMap<>();
            Map<String, Integer> failed = new TreeMap<>();
            group.forEach(run -> {
                run.killed().forEach((code, count) -> killed.merge(code, count, Integer::sum));
                run.failed().forEach((code, count) -> failed.merge(code, count, Integer::sum));
            });
            Run first = group.get(0);
            rows.add(new Row(first.workload(), first.xmx(), first.governance(), group.size(),
                    group.size() * queries.getOrDefault(first.workload(), 0),
                    group.stream().mapToInt(Run::finished).sum(),
                    killed, failed,
                    group.stream().mapToLong(Run::jvmOutOfMemoryErrors).sum(),
                    (int) group.stream().filter(Run::timedOut).count(),
                    (int) group.stream().filter(run -> run.crashed() && !run.timedOut()).count(),
                    group.stream().mapToLong(Run::peakHeapAfterGcBytes).max().orElse(0),
                    group.stream().mapToLong(Run::maxHeapBytes).max().orElse(0),
                    group.stream().mapToLong(Run::poolBytes).max().orElse(0),
                    group.stream().mapToLong(Run::peakUntrackedBytes).max().orElse(0),
                    group.stream().mapToLong(Run::spilledBytes).sum(),
                    group.stream().mapToLong(Run::heapPressureKills).sum(),
                    Math.round(group.stream().mapToLong(Run::wallMillis).average().orElse(0)),
                    (int) group.stream().filter(Run::clean).count(),
                    group.stream().flatMap(run -> run.outOfMemoryAt().stream())
                            .collect(Collectors.toMap(SweepCommand::thrownAt, ignored -> 1, Integer::sum, TreeMap::new))));
        }
        return rows;
    }

    private static final List<String> HEADER = List.of("-Xmx", "memgov", "clean", "finished", "killed", "failed", "JVM OOMs", "peak heap", "wall");
    // numbers right-aligned, words left
    private static final List<Boolean> RIGHT = List.of(false, false, true, true, true, true, true, true, true);
    static final String LEGEND = """
            clean: runs with no JVM OutOfMemoryError, every finished query verified and
              nothing reserved or left on disk after; finished, killed, failed: queries
              over all runs; JVM OOMs: OutOfMemoryErrors the children's JVMs threw, over
              all runs; peak heap: the most heap in use right after a collection in
              any run (the child's -Xlog:gc); wall: the runs' mean. memgov on: its heap
              defaults; off: every reservation granted at once, only the heap limits.
            """;

    private static List<String> cells(Row row)
    {
        return List.of(row.xmx(), row.governance().label(),
                row.cleanRuns() + "/" + row.runs(),
                row.finished() + "/" + row.queries(),
                Integer.toString(total(row.killed())),
                Integer.toString(total(row.failed())),
                Long.toString(row.jvmOutOfMemoryErrors()),
                row.peakHeapAfterGcBytes() == 0 ? "-" : DataSizes.succinct(row.peakHeapAfterGcBytes()),
                Reports.millis(row.meanWallMillis()));
    }

    // why a row's queries did not all finish, or why its runs were not clean: the error codes and the runs without a result
    private static String note(Row row)
    {
        List<String> parts = new ArrayList<>();
        if (!row.killed().isEmpty()) {
            parts.add("killed" + reasons(row.killed()).replace(" (", " ").replace(")", ""));
        }
        if (!row.failed().isEmpty()) {
            parts.add("failed" + reasons(row.failed()).replace(" (", " ").replace(")", ""));
        }
        if (!row.outOfMemoryAt().isEmpty()) {
            parts.add("OutOfMemoryError at " + counted(row.outOfMemoryAt()));
        }
        if (row.crashedRuns() > 0) {
            parts.add(RunCommand.count(row.crashedRuns(), "run", "runs") + " crashed (no result: queries and heap unknown)");
        }
        if (row.timedOutRuns() > 0) {
            parts.add(RunCommand.count(row.timedOutRuns(), "run", "runs") + " timed out");
        }
        return String.join("; ", parts);
    }

    /**
     * Where a query's {@code OutOfMemoryError} was thrown, from its description ({@code java.lang.OutOfMemoryError: Java
     * heap space at frame < frame ...}): the innermost frame in {@code io.memgov}, without the package, e.g.
     * {@code HashAggregation$GroupTable.resize(HashAggregation.java:310)}; "unknown" when no frame is ours.
     */
    static String thrownAt(String description)
    {
        int at = description.indexOf(" at ");
        if (at >= 0) {
            for (String element : description.substring(at + 4).split(" < ")) {
                // a frame may start with its class loader's or module's name: "app//io.memgov..."
                int ours = element.indexOf("io.memgov.");
                if (ours >= 0) {
                    String frame = element.substring(ours);
                    String method = frame.substring(0, frame.indexOf('('));
                    return frame.substring(method.lastIndexOf('.', method.lastIndexOf('.') - 1) + 1);
                }
            }
        }
        return "unknown";
    }

    // "HashAggregation$GroupTable.resize(HashAggregation.java:310) 2, Sort.spill(Sort.java:120) 1"
    private static String counted(Map<String, Integer> byPlace)
    {
        return byPlace.entrySet().stream().map(entry -> entry.getKey() + " " + entry.getValue()).collect(Collectors.joining(", "));
    }

    private static int total(Map<String, Integer> byCode)
    {
        return byCode.values().stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * The table as aligned text, one block per workload, each row's error codes under the block, then the legend;
     * lines of at most {@link #WIDTH} characters (a note longer than that wraps).
     */
    static String text(List<Row> rows)
    {
        Map<String, List<Row>> byWorkload = new LinkedHashMap<>();
        rows.forEach(row -> byWorkload.computeIfAbsent(row.workload(), ignored -> new ArrayList<>()).add(row));
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, List<Row>> workload : byWorkload.entrySet()) {
            Row first = workload.getValue().get(0);
            text.append(String.format(Locale.ROOT, "%s: %s a run, %s a row%n", workload.getKey(),
                    RunCommand.count(first.runs() == 0 ? 0 : first.queries() / first.runs(), "query", "queries"), RunCommand.count(first.runs(), "run", "runs")));
            List<List<String>> lines = new ArrayList<>();
            lines.add(HEADER);
            workload.getValue().forEach(row -> lines.add(cells(row)));
            int[] widths = new int[HEADER.size()];
            for (List<String> line : lines) {
                for (int i = 0; i < line.size(); i++) {
                    widths[i] = Math.max(widths[i], line.get(i).length());
                }
            }
            for (List<String> line : lines) {
                StringBuilder aligned = new StringBuilder();
                for (int i = 0; i < line.size(); i++) {
                    String pad = " ".repeat(widths[i] - line.get(i).length());
                    aligned.append("  ").append(RIGHT.get(i) ? pad + line.get(i) : line.get(i) + pad);
                }
                text.append(aligned.toString().stripTrailing()).append('\n');
            }
            for (Row row : workload.getValue()) {
                String note = note(row);
                if (!note.isEmpty()) {
                    text.append(wrap("  " + row.xmx() + " " + row.governance().label() + ": ", note, "      "));
                }
            }
            text.append('\n');
        }
        return text.append(LEGEND).toString();
    }

    /**
     * {@code prefix} then {@code words}, broken at spaces into lines of at most {@link #WIDTH} characters (a word longer
     * than a line gets one of its own); every line but the first starts with {@code indent}.
     */
    static String wrap(String prefix, String words, String indent)
    {
        StringBuilder wrapped = new StringBuilder();
        StringBuilder line = new StringBuilder(prefix);
        boolean lineHasWords = false;
        for (String word : words.split(" +")) {
            if (lineHasWords && line.length() + 1 + word.length() > WIDTH) {
                wrapped.append(line).append('\n');
                line = new StringBuilder(indent);
                lineHasWords = false;
            }
            line.append(lineHasWords ? " " : "").append(word);
            lineHasWords = true;
        }
        return wrapped.append(line).append('\n').toString();
    }

    private static void write(Path file, String text, String option)
    {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                writer.write(text);
            }
        }
        catch (IOException e) {
            throw new BadInputException("Cannot write " + option + " file '" + file + "': " + e.getMessage());
        }
    }

    private static void deleteRecursively(Path directory)
    {
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(path);
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the sweep's directory " + directory, e);
        }
    }
}
