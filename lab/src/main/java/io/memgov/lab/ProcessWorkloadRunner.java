package io.memgov.lab;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.memgov.lab.RunResult.Kill;
import io.memgov.lab.RunResult.QueryResult;
import io.memgov.lab.RunResult.Sample;
import io.memgov.lab.RunResult.Status;
import io.memgov.lab.RunResult.Totals;
import io.memgov.lab.RunResult.WorkerFigures;
import io.memgov.lab.Workload.QuerySpec;
import io.memgov.lab.WorkloadRunner.Progress;
import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.PolicyConfig;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static java.util.Objects.requireNonNull;

/**
 * {@code run --processes}: one {@link LabWorker} JVM per node, its {@code -Xmx} the node's heap, the nodes joined by the
 * Hazelcast cluster transport on 127.0.0.1; the coordinator's loop runs in whichever worker holds the role. Each query
 * gets one task on every node alive when it arrives, run by that node's worker with the embedded lab's operators; the
 * lab collects what the tasks computed and verifies it as {@link WorkloadRunner} does, and reports the same progress,
 * summary, JSON and report, with each worker's heap figures.
 *
 * <p>A query fails as a whole: when one of its tasks fails (memgov killed it, its node's limit refused it, its process
 * died) the lab stops the others. A task whose worker died fails with {@code NODE_LOST}; memgov fails the query's
 * tasks on the other nodes with the same code.
 */
final class ProcessWorkloadRunner
        implements WorkerProcess.Listener
{
    static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    /**
     * Heap a worker JVM holds besides its node: its Hazelcast member (about 20MB live, measured), the engine and the
     * lab's threads. It is heap no node claims, which the heap governor lets absorb untracked memory before it
     * shrinks the node's pool, as the spare heap of an embedded lab's JVM does. Measured on the default workload (64MB
     * nodes, three workers on two busy cores): under G1 with 16MB more, 2 or 3 of 12 queries met an OutOfMemoryError in
     * each of three runs, and with 32MB one run in about ten did (G1 puts the tables' large arrays in humongous regions,
     * which a heap this small fragments); under the serial collector (see {@link WorkerProcess}) with 32MB, none in six.
     */
    static final long WORKER_OVERHEAD_BYTES = 32L << 20;
    private static final Duration AFTER_TIMEOUT = Duration.ofSeconds(30);
    static final String HAZELCAST_PLUGIN = "memgov-cluster-hazelcast";
    private static final String TRANSPORT_POLICY = "cluster.transport.policy";
    private static final String TRANSPORT_PREFIX = "cluster.transport.hazelcast.";
    private static final String NODE_LOST = "NODE_LOST";
    private static final String CANCELLED = "CANCELLED";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger RUNS = new AtomicInteger();

    /** What one task reported. */
    private record TaskOutcome(boolean ok, long checksum, String errorCode, long cpuNanos, long spilledBytes) {}

    private record Failure(String errorCode, String message) {}

    // what a worker reported of a query it closed: its peak and cumulative memory there
    private record Ended(long peakBytes, double cumulativeUserMemoryByteSeconds, double cumulativeTotalMemoryByteSeconds)
    {
        static final Ended NOTHING = new Ended(0, 0, 0);
    }

    /** One query across the workers: a task and an end on each node it runs on. */
    private static final class RemoteQuery
    {
        final QuerySpec spec;
        final Map<Integer, CompletableFuture<TaskOutcome>> tasks = new ConcurrentHashMap<>();
        final Map<Integer, CompletableFuture<Ended>> ends = new ConcurrentHashMap<>();
        final AtomicReference<Failure> failure = new AtomicReference<>();
        volatile boolean started;
        volatile QueryResult result;

        RemoteQuery(QuerySpec spec)
        {
            this.spec = spec;
        }

        boolean running()
        {
            return started && result == null;
        }
    }

    /** What a worker last sampled, and how it ended. */
    private static final class NodeState
    {
        volatile long reservedBytes;
        volatile long revocableBytes;
        volatile long maxBytes;
        volatile long peakHeapBytes;
        volatile Set<String> blocked = Set.of();
        volatile int nodesSeen;
        volatile String after;
        volatile String end;
        final AtomicInteger taskOutOfMemoryErrors = new AtomicInteger();
    }

    private final Map<String, String> properties;
    private final Workload workload;
    private final String label;
    private final Chaos chaos;
    private final PrintStream out;
    // before each line this runner prints: compare indents its runs
    private final String indent;
    private final String logLevel;
    private final int nodeCount;
    private final long heapBytes;
    private final List<WorkerProcess> workers = new ArrayList<>();
    private final List<NodeState> nodes = new ArrayList<>();
    private final Map<String, RemoteQuery> queries = new ConcurrentHashMap<>();
    // one kill per query and error code, its tasks merged: each node reports its part of a kill
    private final Map<String, Kill> kills = new LinkedHashMap<>();
    private final Map<Integer, String> chaosKilled = new ConcurrentHashMap<>();
    private final AtomicInteger workersLost = new AtomicInteger();
    private final Object startLock = new Object();
    private volatile int coordinator = -1;
    private volatile boolean closing;
    private volatile CountDownLatch afterReported = new CountDownLatch(0);
    private volatile long start;

    /**
     * @param properties the engine properties of the whole cluster as an embedded run would use them (configuration
     *        file, workload properties, overrides): {@code cluster.node-count} workers, each with {@code node.heap-size}
     *        as its {@code -Xmx}
     */
    ProcessWorkloadRunner(Map<String, String> properties, Workload workload, String label, Chaos chaos, PrintStream out, String indent)
    {
        this.indent = requireNonNull(indent, "indent is null");
        this.properties = Map.copyOf(requireNonNull(properties, "properties is null"));
        this.workload = requireNonNull(workload, "workload is null");
        this.label = requireNonNull(label, "label is null");
        this.chaos = requireNonNull(chaos, "chaos is null");
        this.out = requireNonNull(out, "out is null");
        this.logLevel = System.getProperty(Lab.LOG_LEVEL, "warn");
        this.nodeCount = Integer.parseInt(properties.getOrDefault("cluster.node-count", "1").trim());
        String heap = properties.get("node.heap-size");
        if (heap == null) {
            throw new BadInputException("--processes starts one JVM per node with the node's heap as its -Xmx: set node.heap-size (e.g. 64MB) "
                    + "in the configuration or the workload's properties");
        }
        this.heapBytes = PolicyConfig.parseSize("node.heap-size", heap);
        chaos.checkNodes(nodeCount);
    }

    /** Each worker's {@code -Xmx}: {@code node.heap-size}. */
    long heapBytes()
    {
        return heapBytes;
    }

    /** The plugin folder the lab's build puts beside it: {@code lab/target/plugins} for the jar and for its classes. */
    static Path defaultPluginDirectory()
    {
        try {
            Path code = Path.of(Lab.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return code.toAbsolutePath().getParent().resolve("plugins");
        }
        catch (URISyntaxException e) {
            throw new IllegalStateException("the lab's own location cannot be read", e);
        }
    }

    /** One worker's engine properties: this node of the cluster, joined to the others by the transport. */
    private Map<String, String> workerProperties(int index, String clusterName, int port)
    {
        Map<String, String> worker = new LinkedHashMap<>(properties);
        worker.put("cluster.node-count", "1");
        worker.put("node.id", "node-" + index);
        worker.putIfAbsent(TRANSPORT_POLICY, "hazelcast");
        worker.putIfAbsent("plugin.dir", defaultPluginDirectory().toString());
        if (worker.get(TRANSPORT_POLICY).equals("hazelcast")) {
            // members of this run only: their own name, loopback ports that are free now, unless the configuration says otherwise
            worker.putIfAbsent(TRANSPORT_PREFIX + "cluster-name", clusterName);
            if (!worker.containsKey(TRANSPORT_PREFIX + "members")) {
                worker.putIfAbsent(TRANSPORT_PREFIX + "port", Integer.toString(port));
                worker.putIfAbsent(TRANSPORT_PREFIX + "port-count", Integer.toString(nodeCount + 2));
            }
        }
        return worker;
    }

    RunResult run(Consumer<Progress> progress)
            throws InterruptedException, IOException
    {
        checkTransportPlugin();
        Path directory = Files.createTempDirectory("memgov-lab-processes-");
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "memgov-lab: arrivals and chaos");
            thread.setDaemon(true);
            return thread;
        });
        try {
            long starting = System.nanoTime();
            startWorkers(directory);
            int coordinating = coordinator;
            String formed = String.format(Locale.ROOT, "%s formed one cluster in %.1fs: %s; -Xmx%s each (the node's heap and %s for the JVM's own)",
                    RunCommand.count(nodeCount, "worker JVM", "worker JVMs"), (System.nanoTime() - starting) / 1e9,
                    String.join(", ", workers.stream().map(worker -> worker.nodeId() + " (pid " + worker.pid()
                            + (worker.index() == coordinating ? ", coordinator)" : ")")).toList()),
                    DataSizes.succinct(heapBytes + WORKER_OVERHEAD_BYTES), DataSizes.succinct(WORKER_OVERHEAD_BYTES));
            // one line: it names every worker's pid, which scripts (and ProcessesTest) read
            out.println(indent + formed);
            return runWorkload(progress, timer, directory);
        }
        finally {
            timer.shutdownNow();
            closing = true;
            // youngest first: the members that stay never wait for a new Hazelcast master on the way out
            for (int index = workers.size() - 1; index >= 0; index--) {
                workers.get(index).close();
            }
            deleteRecursively(directory);
        }
    }

    private void checkTransportPlugin()
    {
        if (properties.containsKey("plugin.dir") || !properties.getOrDefault(TRANSPORT_POLICY, "hazelcast").equals("hazelcast")) {
            // the engine names what is missing
            return;
        }
        Path folder = defaultPluginDirectory().resolve(HAZELCAST_PLUGIN);
        if (!Files.isDirectory(folder)) {
            throw new BadInputException("--processes joins the worker JVMs with the Hazelcast cluster transport, a plugin folder the lab's build "
                    + "puts in " + folder + " (mvn -B -pl lab -am package), which is missing; or set plugin.dir to a directory holding "
                    + HAZELCAST_PLUGIN + "/");
        }
    }

    private void startWorkers(Path directory)
            throws IOException, InterruptedException
    {
        String clusterName = "memgov-lab-" + ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet();
        int port = freePortRange(nodeCount + 2);
        for (int index = 0; index < nodeCount; index++) {
            nodes.add(new NodeState());
        }
        for (int index = 0; index < nodeCount; index++) {
            Path file = directory.resolve("node-" + index + ".properties");
            Properties worker = new Properties();
            worker.putAll(workerProperties(index, clusterName, port));
            try (OutputStream stream = Files.newOutputStream(file)) {
                worker.store(stream, "memgov lab worker of node-" + index);
            }
            Path spill = Files.createDirectory(directory.resolve("spill-node-" + index));
            workers.add(WorkerProcess.start(index, "node-" + index, file, heapBytes + WORKER_OVERHEAD_BYTES, spill, logLevel, this));
            // the first member alone, then the others join it at once: two first members at the same moment could make two clusters
            if (index == 0) {
                workers.get(0).awaitReady(START_TIMEOUT);
            }
        }
        for (WorkerProcess worker : workers) {
            worker.awaitReady(START_TIMEOUT);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        synchronized (startLock) {
            while (coordinator < 0 || nodes.get(coordinator).nodesSeen < nodeCount) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || workers.stream().anyMatch(worker -> !worker.isAlive())) {
                    throw new IllegalStateException(String.format("the %s did not form one cluster within %ds (coordinator: %s, nodes it sees: %s)",
                            RunCommand.count(nodeCount, "worker JVM", "worker JVMs"), START_TIMEOUT.toSeconds(), coordinator < 0 ? "none" : "node-" + coordinator,
                            coordinator < 0 ? "none" : nodes.get(coordinator).nodesSeen));
                }
                startLock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    private RunResult runWorkload(Consumer<Progress> progress, ScheduledExecutorService timer, Path directory)
            throws InterruptedException
    {
        List<QuerySpec> specs = workload.expand();
        specs.forEach(spec -> queries.put(spec.id(), new RemoteQuery(spec)));
        List<String> nodeIds = workers.stream().map(WorkerProcess::nodeId).toList();
        List<Sample> timeline = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(specs.size());
        start = System.nanoTime();
        for (Chaos.Kill kill : chaos.kills()) {
            timer.schedule(() -> chaosKill(kill), kill.at().toMillis(), TimeUnit.MILLISECONDS);
        }
        for (QuerySpec spec : specs) {
            RemoteQuery query = queries.get(spec.id());
            timer.schedule(() -> {
                Thread thread = new Thread(() -> {
                    try {
                        query.result = runQuery(query);
                    }
                    finally {
                        done.countDown();
                    }
                }, "lab-" + spec.id());
                query.started = true;
                thread.start();
            }, spec.arrivalMillis(), TimeUnit.MILLISECONDS);
        }
        String lastState = "";
        long lastChange = 0;
        while (true) {
            boolean finished = done.await(WorkloadRunner.SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
            long now = millisSince(start);
            timeline.add(sample(now));
            Progress current = progress(nodeIds, now);
            progress.accept(current);
            if (finished) {
                break;
            }
            String state = current.finished() + "/" + current.killed() + "/" + current.failed() + "/" + Arrays.toString(current.reservedBytes());
            if (!state.equals(lastState) || current.running() == 0 || current.blocked() < current.running()) {
                lastState = state;
                lastChange = now;
            }
            else if (now - lastChange > WorkloadRunner.STALL_MILLIS) {
                String message = String.format("memgov-lab: every running query waited for memory for %d ms and no killer freed any; "
                        + "the lab failed the waiting queries", now - lastChange);
                queries.values().stream().filter(RemoteQuery::running).forEach(query -> fail(query, WorkloadRunner.STALLED, message));
                lastChange = now;
            }
        }
        long wallMillis = millisSince(start);
        List<WorkerProcess> live = workers.stream().filter(WorkerProcess::isAlive).toList();
        afterReported = new CountDownLatch(live.size());
        live.forEach(worker -> worker.send("AFTER"));
        if (!afterReported.await(AFTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("the workers did not report their state after the run within " + AFTER_TIMEOUT.toSeconds() + "s");
        }
        List<QueryResult> results = specs.stream()
                .map(spec -> queries.get(spec.id()).result)
                .sorted(Comparator.comparingInt(result -> Integer.parseInt(result.id().substring(1))))
                .toList();
        long reservedAfter = 0;
        int spillFilesLeft = 0;
        int workerOutOfMemoryErrors = 0;
        List<WorkerFigures> figures = new ArrayList<>();
        for (WorkerProcess worker : workers) {
            NodeState node = nodes.get(worker.index());
            String after = node.after;
            long[] values = after == null ? new long[10] : Arrays.stream(after.split(" ")).skip(1).mapToLong(Long::parseLong).toArray();
            reservedAfter += values[0] + values[1];
            spillFilesLeft += (int) values[2];
            // a task's OutOfMemoryError is in its query's result already; count the others once
            workerOutOfMemoryErrors += Math.max(0, (int) values[9] - node.taskOutOfMemoryErrors.get());
            String end = node.end != null ? node.end : "ran to the end";
            figures.add(new WorkerFigures(worker.nodeId(), worker.pid(), worker.maxHeapBytes(), Math.max(node.peakHeapBytes, values[3]), values[5],
                    values[6], values[7], values[8], (int) values[9], end));
        }
        Totals totals = WorkloadRunner.totals(results, timeline, workerOutOfMemoryErrors, -1, reservedAfter, spillFilesLeft, wallMillis, workersLost.get());
        List<Kill> allKills;
        synchronized (kills) {
            allKills = List.copyOf(kills.values());
        }
        return new RunResult(label, workload.seed(), nodeIds, nodes.get(0).maxBytes, results, totals, RunResult.Arbitration.notRead(), timeline, allKills,
                workersHeap(figures, nodeIds.size() * nodes.get(0).maxBytes), List.of(), figures, RunResult.Settings.UNKNOWN);
    }

    // the workers' heaps summed: each worker governs its own JVM, so there is no one heap timeline to sample
    private static RunResult.Heap workersHeap(List<WorkerFigures> workers, long poolBytes)
    {
        return new RunResult.Heap(true, workers.stream().mapToLong(WorkerFigures::maxHeapBytes).sum(), poolBytes,
                workers.stream().mapToLong(WorkerFigures::peakHeapBytes).sum(), 0, workers.stream().mapToLong(WorkerFigures::peakUntrackedBytes).sum(), poolBytes,
                workers.stream().mapToLong(WorkerFigures::youngCollections).sum(), workers.stream().mapToLong(WorkerFigures::fullCollections).sum(), 0,
                workers.stream().mapToLong(WorkerFigures::jvmOutOfMemoryErrors).sum());
    }

    private QueryResult runQuery(RemoteQuery query)
    {
        QuerySpec spec = query.spec;
        long startMillis = millisSince(start);
        List<WorkerProcess> live = workers.stream().filter(WorkerProcess::isAlive).toList();
        for (WorkerProcess worker : live) {
            query.tasks.put(worker.index(), new CompletableFuture<>());
            query.ends.put(worker.index(), new CompletableFuture<>());
        }
        if (live.isEmpty()) {
            return new QueryResult(spec.id(), spec.user(), spec.operator().fileName(), Status.FAILED, NODE_LOST, "no node left to run it", 0, 0, 0,
                    startMillis, millisSince(start), false, 0, 0);
        }
        String order;
        try {
            order = "RUN " + JSON.writeValueAsString(spec);
        }
        catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        for (WorkerProcess worker : live) {
            worker.send(order);
            // a worker that ended before it got its task: exited() may have run before the futures existed
            if (!worker.isAlive()) {
                lose(query, worker);
            }
        }
        Map<Integer, TaskOutcome> outcomes = new HashMap<>();
        for (WorkerProcess worker : live) {
            outcomes.put(worker.index(), await(query.tasks.get(worker.index())));
        }
        Failure failure = query.failure.get();
        Status status;
        boolean verified = false;
        if (failure == null) {
            status = Status.FINISHED;
            verified = true;
            synchronized (WorkloadRunner.VERIFY_LOCK) {
                for (Map.Entry<Integer, TaskOutcome> outcome : outcomes.entrySet()) {
                    verified &= outcome.getValue().checksum() == WorkloadRunner.expected(spec, WorkloadRunner.taskSeed(spec, outcome.getKey()));
                }
            }
        }
        else {
            status = failure.errorCode().equals("CLUSTER_OUT_OF_MEMORY") || failure.errorCode().equals("KILLED_BY_OVERCOMMIT") ? Status.KILLED : Status.FAILED;
        }
        String state = status == Status.FINISHED ? "FINISHED" : "FAILED";
        for (WorkerProcess worker : live) {
            worker.send("END " + spec.id() + " " + state);
            if (!worker.isAlive()) {
                query.ends.get(worker.index()).complete(Ended.NOTHING);
            }
        }
        long peak = 0;
        double cumulativeUser = 0;
        double cumulativeTotal = 0;
        for (WorkerProcess worker : live) {
            Ended ended = await(query.ends.get(worker.index()));
            peak += ended.peakBytes();
            cumulativeUser += ended.cumulativeUserMemoryByteSeconds();
            cumulativeTotal += ended.cumulativeTotalMemoryByteSeconds();
        }
        long cpu = outcomes.values().stream().mapToLong(TaskOutcome::cpuNanos).sum();
        long spilled = outcomes.values().stream().mapToLong(TaskOutcome::spilledBytes).sum();
        return new QueryResult(spec.id(), spec.user(), spec.operator().fileName(), status, failure == null ? "" : failure.errorCode(),
                failure == null ? "" : failure.message(), peak, spilled, cpu, startMillis, millisSince(start), verified, cumulativeUser, cumulativeTotal);
    }

    private static <T> T await(CompletableFuture<T> future)
    {
        try {
            return future.get();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a worker", e);
        }
        catch (ExecutionException e) {
            throw new IllegalStateException("a worker's answer failed", e.getCause());
        }
    }

    /** The first failure of a query is its failure; its tasks still running on other nodes are stopped. */
    private void fail(RemoteQuery query, String errorCode, String message)
    {
        if (!query.failure.compareAndSet(null, new Failure(errorCode, message))) {
            return;
        }
        query.tasks.forEach((index, task) -> {
            if (!task.isDone()) {
                workers.get(index).send("FAIL " + query.spec.id());
            }
        });
    }

    /** The query's task on {@code worker}'s node is gone with its process. */
    private void lose(RemoteQuery query, WorkerProcess worker)
    {
        CompletableFuture<TaskOutcome> task = query.tasks.get(worker.index());
        if (task != null && !task.isDone()) {
            fail(query, NODE_LOST, "Query failed because " + worker.nodeId() + ", on which it ran, left the cluster (its process ended)");
            task.complete(new TaskOutcome(false, 0, NODE_LOST, 0, 0));
        }
        CompletableFuture<Ended> end = query.ends.get(worker.index());
        if (end != null) {
            end.complete(Ended.NOTHING);
        }
    }

    private void chaosKill(Chaos.Kill kill)
    {
        int index = kill.coordinator() ? coordinator : kill.node();
        double at = millisSince(start) / 1000.0;
        if (index < 0 || !workers.get(index).isAlive()) {
            out.printf(Locale.ROOT, indent + "chaos %s at %.1fs: %s, nothing killed%n", kill, at,
                    kill.coordinator() ? "no process coordinates now" : "node-" + index + "'s process has ended");
            return;
        }
        WorkerProcess victim = workers.get(index);
        chaosKilled.put(index, String.format(Locale.ROOT, "killed by --chaos %s at %.1fs", kill, at));
        victim.kill();
        out.printf(Locale.ROOT, indent + "chaos %s at %.1fs: killed %s's process (pid %d)%s%n", kill, at, victim.nodeId(), victim.pid(),
                index == coordinator ? ", the coordinator" : "");
    }

    @Override
    public void line(WorkerProcess worker, String line)
    {
        NodeState node = nodes.get(worker.index());
        String[] words = line.split(" ");
        switch (words[0]) {
            case "READY" -> node.maxBytes = Long.parseLong(words[3]);
            case "SAMPLE" -> {
                node.reservedBytes = Long.parseLong(words[1]);
                node.revocableBytes = Long.parseLong(words[2]);
                node.maxBytes = Long.parseLong(words[3]);
                node.peakHeapBytes = Math.max(node.peakHeapBytes, Long.parseLong(words[4]));
                node.blocked = words[5].equals("-") ? Set.of() : Set.of(words[5].split(","));
            }
            case "COORDINATOR" -> {
                synchronized (startLock) {
                    if (Boolean.parseBoolean(words[1])) {
                        coordinator = worker.index();
                        if (start != 0) {
                            out.printf(Locale.ROOT, indent + "%s's process took the coordinator role at %.1fs%n", worker.nodeId(), millisSince(start) / 1000.0);
                        }
                    }
                    else if (coordinator == worker.index()) {
                        coordinator = -1;
                    }
                    startLock.notifyAll();
                }
            }
            case "NODES" -> {
                synchronized (startLock) {
                    node.nodesSeen = Integer.parseInt(words[1]);
                    startLock.notifyAll();
                }
            }
            case "FAILED" -> failed(worker, line.split(" ", 5));
            case "TASK" -> task(worker, line.split(" ", 7));
            case "ENDED" -> {
                RemoteQuery query = queries.get(words[1]);
                if (query != null && query.ends.containsKey(worker.index())) {
                    // a worker of an older lab reports the peak only
                    query.ends.get(worker.index()).complete(words.length < 5 ? new Ended(Long.parseLong(words[2]), 0, 0)
                            : new Ended(Long.parseLong(words[2]), Double.parseDouble(words[3]), Double.parseDouble(words[4])));
                }
            }
            case "AFTER" -> {
                node.after = line;
                afterReported.countDown();
            }
            default -> {
                // READY and START_FAILED are the worker handle's; nothing else is expected
            }
        }
    }

    /** {@code FAILED QUERY CODE TASKS MESSAGE}: memgov failed a query, or tasks of it, on the worker's node. */
    private void failed(WorkerProcess worker, String[] words)
    {
        RemoteQuery query = queries.get(words[1]);
        if (query == null) {
            return;
        }
        String errorCode = words[2];
        List<String> tasks = words[3].equals("-") ? List.of() : List.of(words[3].split(","));
        synchronized (kills) {
            Kill earlier = kills.get(query.spec.id() + "/" + errorCode);
            if (earlier == null) {
                kills.put(query.spec.id() + "/" + errorCode, new Kill(millisSince(start), query.spec.id(), tasks, errorCode));
            }
            else {
                Set<String> merged = new TreeSet<>(earlier.tasks());
                merged.addAll(tasks);
                kills.put(query.spec.id() + "/" + errorCode, new Kill(earlier.millis(), earlier.queryId(), List.copyOf(merged), errorCode));
            }
        }
        fail(query, errorCode, words.length > 4 ? words[4] : errorCode);
    }

    /** {@code TASK QUERY OK CHECKSUM CPU SPILLED} or {@code TASK QUERY ERROR CODE CPU SPILLED MESSAGE}. */
    private void task(WorkerProcess worker, String[] words)
    {
        RemoteQuery query = queries.get(words[1]);
        if (query == null || !query.tasks.containsKey(worker.index())) {
            return;
        }
        boolean ok = words[2].equals("OK");
        String errorCode = ok ? "" : words[3];
        if (!ok && !errorCode.equals(CANCELLED)) {
            if (errorCode.equals(WorkloadRunner.JVM_OUT_OF_MEMORY)) {
                nodes.get(worker.index()).taskOutOfMemoryErrors.incrementAndGet();
            }
            fail(query, errorCode, words.length > 6 ? words[6] : errorCode);
        }
        query.tasks.get(worker.index()).complete(new TaskOutcome(ok, ok ? Long.parseLong(words[3]) : 0, errorCode, Long.parseLong(words[4]),
                Long.parseLong(words[5])));
    }

    @Override
    public void exited(WorkerProcess worker, int exitCode)
    {
        NodeState node = nodes.get(worker.index());
        String chaosEnd = chaosKilled.get(worker.index());
        if (chaosEnd != null) {
            node.end = chaosEnd;
        }
        else if (!closing) {
            node.end = String.format(Locale.ROOT, "died at %.1fs (exit code %d)", start == 0 ? 0 : millisSince(start) / 1000.0, exitCode);
            workersLost.incrementAndGet();
            out.printf(indent + "memgov-lab: the worker JVM of %s (pid %d) ended during the run, exit code %d%n", worker.nodeId(), worker.pid(), exitCode);
        }
        node.reservedBytes = 0;
        node.revocableBytes = 0;
        node.blocked = Set.of();
        synchronized (startLock) {
            if (coordinator == worker.index()) {
                coordinator = -1;
            }
            startLock.notifyAll();
        }
        queries.values().forEach(query -> lose(query, worker));
        if (node.after == null) {
            afterReported.countDown();
        }
    }

    private Sample sample(long millis)
    {
        long[] reserved = new long[nodes.size()];
        long[] revocable = new long[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            revocable[i] = nodes.get(i).revocableBytes;
            reserved[i] = nodes.get(i).reservedBytes + revocable[i];
        }
        return new Sample(millis, reserved, revocable);
    }

    private Progress progress(List<String> nodeIds, long millis)
    {
        int waiting = 0;
        int running = 0;
        int blocked = 0;
        int finished = 0;
        int killed = 0;
        int failed = 0;
        Set<String> blockedQueries = new TreeSet<>();
        nodes.forEach(node -> blockedQueries.addAll(node.blocked));
        for (RemoteQuery query : queries.values()) {
            QueryResult result = query.result;
            if (result != null) {
                switch (result.status()) {
                    case FINISHED -> finished++;
                    case KILLED -> killed++;
                    case FAILED -> failed++;
                }
            }
            else if (!query.started) {
                waiting++;
            }
            else {
                running++;
                if (blockedQueries.contains(query.spec.id())) {
                    blocked++;
                }
            }
        }
        long[] reserved = new long[nodes.size()];
        long[] max = new long[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            reserved[i] = nodes.get(i).reservedBytes + nodes.get(i).revocableBytes;
            max[i] = nodes.get(i).maxBytes;
        }
        return new Progress(millis, waiting, running, blocked, finished, killed, failed, nodeIds, reserved, max);
    }

    /**
     * The first of {@code count} consecutive ports free on 127.0.0.1 now, at random between 20000 and 32000 (below the
     * kernel's ephemeral ports): two labs at once rarely meet, and a member skips a port taken after this check.
     */
    private static int freePortRange(int count)
    {
        for (int attempt = 0; attempt < 200; attempt++) {
            int first = ThreadLocalRandom.current().nextInt(20_000, 32_000 - count);
            boolean free = true;
            for (int port = first; free && port < first + count; port++) {
                try (ServerSocket socket = new ServerSocket()) {
                    socket.setReuseAddress(true);
                    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                }
                catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return first;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports on 127.0.0.1 between 20000 and 32000");
    }

    private static long millisSince(long startNanos)
    {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static void deleteRecursively(Path directory)
    {
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        }
        catch (IOException e) {
            System.err.println("memgov-lab: cannot delete " + directory + ": " + e.getMessage());
        }
    }
}
