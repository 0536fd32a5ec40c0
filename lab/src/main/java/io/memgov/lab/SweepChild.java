package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.memgov.lab.SweepSettings.Governance;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static java.util.Objects.requireNonNull;

/**
 * One run of a sweep: the lab itself in a child JVM, {@code java -Xmx<size> ... io.memgov.lab.Lab run --config ...
 * --workload ... --json run.json} (the configuration governed or not, {@link SweepSettings}), in a directory of its own
 * (its log, its GC log, its JSON, its {@code java.io.tmpdir}, a heap dump or an {@code hs_err} file if there is one),
 * bounded by a timeout.
 *
 * <p>The child never outlives the sweep: it is destroyed on timeout, by a shutdown hook when the sweep's JVM exits,
 * and, were the sweep's JVM killed outright, the child exits by itself when it sees its parent gone
 * ({@link #EXIT_WITH_PARENT}).
 */
final class SweepChild
{
    /** A system property the sweep sets in its children: exit when the parent process is gone. */
    static final String EXIT_WITH_PARENT = "memgov.lab.exit-with-parent";
    static final String LOG = "run.log";
    static final String JSON = "run.json";
    static final String GC_LOG = "gc.log";
    // a collection in the JVM's unified GC log, G1, Parallel or Serial: "... Pause Young (Normal) (G1 Evacuation Pause) 23M->5M(64M) 3.456ms",
    // "... Pause Full (Allocation Failure) 60M->57M(64M) ..."; G1's Remark and Cleanup pauses collect nothing and are left out
    private static final Pattern PAUSE = Pattern.compile("Pause (?:Young|Full) .*?(\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\)");
    private static final Duration DESTROY_GRACE = Duration.ofSeconds(10);
    // what the JVM prints for every uncaught OutOfMemoryError, for a heap dump, and the lab for one outside the queries
    private static final String OUT_OF_MEMORY = "java.lang.OutOfMemoryError";

    // the child running now, destroyed by the shutdown hook if the sweep's JVM exits first
    private static final AtomicReference<Process> RUNNING = new AtomicReference<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Process process = RUNNING.get();
            if (process != null) {
                process.destroyForcibly();
            }
        }, "memgov-lab-sweep-children"));
    }

    /**
     * What one child did.
     *
     * @param governance whether memgov governed the child's memory
     * @param exitCode the child's exit code; -1 when it was destroyed on timeout
     * @param crashed the child ended without its JSON result, or left an {@code hs_err} file
     * @param killed queries killed, by error code
     * @param failed queries failed, by error code
     * @param jvmOutOfMemoryErrors {@code OutOfMemoryError}s anywhere in the child: the JVM's own count when the run
     * ended, or the ones its output shows when it did not
     * @param leftInTemporaryDirectory files the child left in its {@code java.io.tmpdir}
     * @param peakHeapAfterGcBytes the most heap in use right after any young or full collection, from the child's GC log
     * ({@code -Xlog:gc}, in the collector's units, usually megabytes; after a young one it includes the old generation's
     * garbage): the same instrument for every run, governed or not, crashed or not; 0 when the log has no collection
     * @param peakUntrackedBytes the most heap live after a collection that memgov did not track, as the engine saw it; 0
     * without a result
     * @param spilledBytes what the queries spilled to disk; 0 without a result
     * @param heapPressureKills queries failed with {@code EXCEEDED_HEAP_MEMORY_LIMIT}
     * @param wallMillis the run's wall time; the child's whole life when it did not finish
     * @param directory the child's directory: its log, JSON, heap dump
     * @param outOfMemoryAt where the {@code OutOfMemoryError}s that failed queries were thrown: the first of each such query,
     * its message and innermost frames ({@link WorkloadRunner}); empty without a result
     */
    record Run(String workload, String xmx, Governance governance, int run, int exitCode, boolean timedOut, boolean crashed, int queries, int finished,
            Map<String, Integer> killed, Map<String, Integer> failed, int wrongResults, long reservedBytesAfterRun, int spillFilesLeft,
            int leftInTemporaryDirectory, long jvmOutOfMemoryErrors, long maxHeapBytes, long poolBytes, long peakHeapAfterGcBytes,
            long peakUntrackedBytes, long spilledBytes, long heapPressureKills, long wallMillis, String directory, List<String> outOfMemoryAt)
    {
        Run
        {
            requireNonNull(governance, "governance is null");
            killed = Map.copyOf(killed);
            failed = Map.copyOf(failed);
            outOfMemoryAt = List.copyOf(outOfMemoryAt);
        }

        /** Ended by itself, every finished query verified, nothing reserved or left on disk, no OutOfMemoryError. */
        boolean clean()
        {
            return exitCode == 0 && !timedOut && !crashed && jvmOutOfMemoryErrors == 0 && wrongResults == 0 && reservedBytesAfterRun == 0
                    && spillFilesLeft == 0 && leftInTemporaryDirectory == 0;
        }

        int killedCount()
        {
            return killed.values().stream().mapToInt(Integer::intValue).sum();
        }

        int failedCount()
        {
            return failed.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    private SweepChild() {}

    /**
     * Runs the lab in a child JVM and waits for it, at most {@code timeout}.
     *
     * @param directory the child's own directory, created here
     * @param jvmOptions more options for the child JVM, after {@code -Xmx}
     * @throws BadInputException when the child refused its configuration or workload (exit code 2): the sweep cannot go on
     */
    static Run run(String workload, String xmx, Governance governance, int run, Path config, Path workloadFile, Path directory, Duration timeout, boolean heapDump,
            List<String> jvmOptions)
            throws InterruptedException
    {
        Path temporary = directory.resolve("tmp");
        try {
            Files.createDirectories(temporary);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot create the sweep's directory " + temporary, e);
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + xmx);
        command.add("-Djava.io.tmpdir=" + temporary.toAbsolutePath());
        command.add("-D" + EXIT_WITH_PARENT + "=true");
        // relative to the child's directory, its working directory: an absolute path could hold the colon -Xlog splits on
        command.add("-Xlog:gc:file=" + GC_LOG);
        if (heapDump) {
            command.add("-XX:+HeapDumpOnOutOfMemoryError");
            command.add("-XX:HeapDumpPath=" + directory.toAbsolutePath());
        }
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", absoluteClassPath(), Lab.class.getName(), "run",
                "--config", config.toAbsolutePath().toString(),
                "--workload", workloadFile.toAbsolutePath().toString(),
                "--json", directory.resolve(JSON).toAbsolutePath().toString()));
        Path log = directory.resolve(LOG);
        long start = System.nanoTime();
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot start a child JVM: " + String.join(" ", command), e);
        }
        RUNNING.set(process);
        boolean timedOut;
        try {
            timedOut = !process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        finally {
            destroy(process);
            RUNNING.set(null);
        }
        long lifeMillis = (System.nanoTime() - start) / 1_000_000;
        String output = read(log);
        if (!timedOut && process.exitValue() == Lab.BAD_INPUT) {
            throw new BadInputException("the child JVM of workload '" + workload + "' at -Xmx" + xmx + ", governance " + governance.label()
                    + ", refused its input:\n" + output.strip());
        }
        return result(workload, xmx, governance, run, timedOut ? -1 : process.exitValue(), timedOut, directory, output, lifeMillis);
    }

    private static Run result(String workload, String xmx, Governance governance, int run, int exitCode, boolean timedOut, Path directory, String output,
            long lifeMillis)
    {
        long printed = output.lines().filter(line -> line.contains(OUT_OF_MEMORY)).count();
        boolean hsErr = list(directory).stream().anyMatch(file -> file.getFileName().toString().startsWith("hs_err_pid"));
        int leftInTemporary = list(directory.resolve("tmp")).size();
        long peakHeap = peakAfterGc(read(directory.resolve(GC_LOG)));
        Path json = directory.resolve(JSON);
        if (!Files.isRegularFile(json)) {
            return new Run(workload, xmx, governance, run, exitCode, timedOut, !timedOut, 0, 0, Map.of(), Map.of(), 0, 0, 0, leftInTemporary,
                    printed, SweepSettings.parseXmx(xmx), 0, peakHeap, 0, 0, 0, lifeMillis, directory.toString(), List.of());
        }
        JsonNode result;
        try {
            result = Reports.json().readTree(json.toFile());
        }
        catch (IOException e) {
            // written only once the run ended: a JSON that does not parse is a child that died writing it
            return new Run(workload, xmx, governance, run, exitCode, timedOut, true, 0, 0, Map.of(), Map.of(), 0, 0, 0, leftInTemporary,
                    printed, SweepSettings.parseXmx(xmx), 0, peakHeap, 0, 0, 0, lifeMillis, directory.toString(), List.of());
        }
        Map<String, Integer> killed = new TreeMap<>();
        Map<String, Integer> failed = new TreeMap<>();
        int finished = 0;
        List<String> outOfMemoryAt = new ArrayList<>();
        for (JsonNode query : result.get("queries")) {
            if (query.get("errorCode").asText().equals(WorkloadRunner.JVM_OUT_OF_MEMORY)) {
                outOfMemoryAt.add(query.get("message").asText());
            }
            switch (query.get("status").asText()) {
                case "FINISHED" -> finished++;
                case "KILLED" -> killed.merge(query.get("errorCode").asText(), 1, Integer::sum);
                default -> failed.merge(query.get("errorCode").asText(), 1, Integer::sum);
            }
        }
        JsonNode totals = result.get("totals");
        JsonNode heap = result.get("heap");
        long outOfMemoryErrors = Math.max(printed, Math.max(totals.get("jvmOutOfMemoryErrors").asLong(), heap.get("outOfMemoryErrorsThrown").asLong()));
        return new Run(workload, xmx, governance, run, exitCode, timedOut, hsErr, result.get("queries").size(), finished, killed, failed,
                totals.get("wrongResults").asInt(), totals.get("reservedBytesAfterRun").asLong(), totals.get("spillFilesLeft").asInt(), leftInTemporary,
                outOfMemoryErrors, heap.get("maxHeapBytes").asLong(), heap.get("poolBytes").asLong(), peakHeap,
                heap.get("peakUntrackedBytes").asLong(), totals.get("spilledBytes").asLong(), heap.get("queriesKilledDueToHeapPressure").asLong(),
                totals.get("wallMillis").asLong(),
                directory.toString(), outOfMemoryAt);
    }

    /** The most heap in use after any young or full collection of a unified GC log ({@code -Xlog:gc}); 0 when it has none. */
    static long peakAfterGc(String gcLog)
    {
        long peak = 0;
        Matcher pause = PAUSE.matcher(gcLog);
        while (pause.find()) {
            peak = Math.max(peak, bytes(pause.group(3), pause.group(4)));
        }
        return peak;
    }

    private static long bytes(String amount, String unit)
    {
        return Long.parseLong(amount) << switch (unit) {
            case "K" -> 10;
            case "M" -> 20;
            default -> 30;
        };
    }

    // asks first, so that the child's own shutdown (spill files) runs; then forcibly, descendants included
    private static void destroy(Process process)
            throws InterruptedException
    {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        if (!process.waitFor(DESTROY_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(DESTROY_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    // the child runs in its own directory: a relative class path entry (java -jar lab/target/memgov-lab.jar) must not break
    private static String absoluteClassPath()
    {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.isEmpty())
                .map(entry -> Path.of(entry).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
    }

    private static String read(Path log)
    {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            return "";
        }
    }

    private static List<Path> list(Path directory)
    {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.toList();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + directory, e);
        }
    }

    /**
     * In a child: exits the JVM when the process that started it is gone, so that a sweep killed outright leaves no
     * child running. Called first thing by {@link Lab#main}.
     */
    static void exitWithParent()
    {
        ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        if (parent == null || !parent.isAlive()) {
            System.err.println("memgov-lab: started with -D" + EXIT_WITH_PARENT + "=true and the parent process is gone; exiting");
            System.exit(Lab.FAILED);
        }
        requireNonNull(parent).onExit().thenRun(() -> {
            Thread exit = new Thread(() -> {
                System.err.println("memgov-lab: the sweep that started this JVM is gone; exiting");
                System.exit(Lab.FAILED);
            }, "memgov-lab-parent-gone");
            exit.setDaemon(true);
            exit.start();
        });
    }
}
