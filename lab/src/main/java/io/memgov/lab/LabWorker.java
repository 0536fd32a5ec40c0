package io.memgov.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.memgov.arrow.ArrowNodeMemory;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.lab.Workload.QuerySpec;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.spill.SpillConfig;
import io.memgov.spill.SpillFileManager;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * One node of {@code run --processes}, in its own JVM: an engine hosting one node ({@code node.id}) joined to the others
 * by the Hazelcast cluster transport, running the tasks the lab sends it with the same operators as the embedded lab.
 * Started by {@link WorkerProcess} with {@code -Xmx} set to the node's heap; arguments: the engine's properties file, the
 * node's index, and the directory it spills to.
 *
 * <p>It reads one command per line from standard input and writes one event per line to standard output (its logging
 * goes to standard error, which the lab passes on):
 * <pre>
 * RUN {QuerySpec as JSON}   runs the query's task on this node      TASK QUERY OK CHECKSUM CPU_NANOS SPILLED
 *                                                                     TASK QUERY ERROR CODE CPU_NANOS SPILLED MESSAGE
 * FAIL QUERY                stops the query's task (another failed)
 * END QUERY STATE           closes the query here (FINISHED/FAILED)  ENDED QUERY PEAK_BYTES CUMULATIVE_USER CUMULATIVE_TOTAL
 * AFTER                     one more round of the cluster loop, then AFTER RESERVED REVOCABLE SPILL_FILES
 *                                                                     PEAK_HEAP MAX_HEAP PEAK_UNTRACKED YOUNG_GCS FULL_GCS GC_MILLIS
 *                                                                     OUT_OF_MEMORY_ERRORS
 *
 * READY NODE PID POOL_BYTES                 once the engine runs
 * COORDINATOR true|false                    when the coordinator role comes or goes
 * NODES N                                   while coordinator, when the number of nodes its loop saw changes
 * SAMPLE RESERVED REVOCABLE MAX HEAP BLOCKED  every 100ms; HEAP: the heap in use; BLOCKED: the queries whose task waits
 *                                           for memory, or -
 * FAILED QUERY CODE TASKS MESSAGE           when memgov fails a query (or tasks of it) here; TASKS comma-separated or -
 * </pre>
 * When its standard input ends (the lab ended, however it ended) it closes its engine and exits: a worker never outlives
 * its lab.
 */
final class LabWorker
{
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final String COORDINATOR_GAUGE = "cluster.transport.policy.coordinator";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One task of a query on this node. */
    private static final class Task
    {
        final QuerySpec spec;
        final QueryMemoryContext query;
        final AtomicReference<MemoryGovernanceException> failure = new AtomicReference<>();
        final AtomicInteger blocked = new AtomicInteger();
        final AtomicLong spilledBytes = new AtomicLong();

        Task(QuerySpec spec, QueryMemoryContext query)
        {
            this.spec = spec;
            this.query = query;
        }
    }

    /** The lab stopped the task because another task of its query failed first. */
    private static final class Cancelled
            extends MemoryGovernanceException
    {
        Cancelled(String queryId)
        {
            super(ErrorCode.GENERIC_MEMORY_ERROR, "query " + queryId + " failed on another node");
        }
    }

    private final MemoryEngine engine;
    private final NodeMemory node;
    private final int nodeIndex;
    private final SpillFileManager spillFiles;
    // made at the first Arrow operator of this worker, so that workloads without one never load Arrow; guarded by this
    private ArrowNodeMemory arrowNode;
    private final Path spillDirectory;
    private final Map<String, Task> tasks = new ConcurrentHashMap<>();
    // queries the lab failed before their task arrived here (another node failed first): their task starts failed
    private final java.util.Set<String> cancelledEarly = ConcurrentHashMap.newKeySet();
    private final AtomicInteger outOfMemoryErrors = new AtomicInteger();
    private long peakHeapBytes;
    private long peakUntrackedBytes;
    private boolean coordinator;
    private int nodesSeen;

    private LabWorker(MemoryEngine engine, int nodeIndex, Path spillDirectory, SpillConfig spillConfig)
    {
        this.engine = engine;
        this.node = engine.node(0);
        this.nodeIndex = nodeIndex;
        this.spillDirectory = spillDirectory;
        this.spillFiles = new SpillFileManager(spillConfig);
    }

    public static void main(String[] args)
            throws Exception
    {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
            properties.load(in);
        }
        Map<String, String> map = new LinkedHashMap<>();
        properties.stringPropertyNames().forEach(name -> map.put(name, properties.getProperty(name)));
        ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "lab-worker-watcher");
            thread.setDaemon(true);
            return thread;
        });
        MemoryEngine engine;
        SpillConfig spillConfig;
        try {
            // the lab's own keys (spill compression, encryption) are the spill files', not the engine's
            spillConfig = LabConfig.spillConfig(map, Path.of(args[2]));
            engine = MemoryEngine.builder().properties(LabConfig.engineProperties(map)).withoutJmx().build();
        }
        catch (RuntimeException e) {
            // the lab shows this line as the reason the worker did not start
            print("START_FAILED " + oneLine(e.getMessage() == null ? e.toString() : e.getMessage()));
            System.exit(2);
            return;
        }
        try {
            LabWorker worker = new LabWorker(engine, Integer.parseInt(args[1]), Path.of(args[2]), spillConfig);
            engine.addQueryFailureListener(worker::failed);
            watcher.scheduleWithFixedDelay(worker::watch, 0, WorkloadRunner.SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
            print("READY " + worker.node.nodeId() + " " + ProcessHandle.current().pid() + " " + worker.node.pool().maxBytes());
            worker.readCommands();
            worker.closeArrow();
            worker.spillFiles.close();
        }
        finally {
            watcher.shutdownNow();
            engine.close();
        }
        System.exit(0);
    }

    private void readCommands()
            throws IOException
    {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] words = line.split(" ", 3);
            switch (words[0]) {
                case "RUN" -> start(JSON.readValue(line.substring("RUN ".length()), QuerySpec.class));
                case "FAIL" -> cancel(words[1]);
                case "END" -> end(words[1], QueryState.valueOf(words[2]));
                case "AFTER" -> after();
                default -> throw new IllegalStateException("unknown command from the lab: " + line);
            }
        }
    }

    private void start(QuerySpec spec)
    {
        QueryId queryId = QueryId.of(spec.id());
        QueryMemoryContext query;
        try {
            QuerySession.Builder session = QuerySession.builder(spec.user());
            spec.session().forEach(session::property);
            query = node.createQuery(queryId, session.build());
        }
        catch (MemoryGovernanceException e) {
            print("TASK " + spec.id() + " ERROR " + e.errorCode().name() + " 0 0 " + oneLine(e.getMessage()));
            return;
        }
        Task task = new Task(spec, query);
        if (cancelledEarly.remove(spec.id())) {
            task.failure.set(new Cancelled(spec.id()));
        }
        tasks.put(spec.id(), task);
        Thread thread = new Thread(() -> runTask(task), "lab-" + spec.id() + "-task-" + nodeIndex);
        thread.start();
    }

    private synchronized ArrowNodeMemory arrowNodeFor(QuerySpec spec)
    {
        if (spec.operator() != Workload.OperatorKind.ARROW_HASH_AGGREGATION) {
            return null;
        }
        if (arrowNode == null) {
            arrowNode = ArrowNodeMemory.builder(node).maxWait(WorkloadRunner.ARROW_MAX_WAIT).build();
        }
        return arrowNode;
    }

    private synchronized void closeArrow()
    {
        if (arrowNode != null) {
            arrowNode.close();
        }
    }

    private void runTask(Task task)
    {
        QuerySpec spec = task.spec;
        String outcome;
        try {
            long checksum;
            TaskMemoryContext context = task.query.addTask("0." + nodeIndex);
            OperatorMemoryContext operator = context.addOperator(WorkloadRunner.tag(spec.operator()));
            try {
                checksum = WorkloadRunner.runOperator(spec, WorkloadRunner.taskSeed(spec, nodeIndex), operator,
                        new OperatorDriver(task.failure::get, task.blocked), spillFiles, arrowNodeFor(spec), task.spilledBytes);
            }
            finally {
                operator.close();
                context.close();
            }
            MemoryGovernanceException failure = task.failure.get();
            outcome = failure == null ? "OK " + checksum : error(failure);
        }
        catch (MemoryGovernanceException e) {
            task.failure.compareAndSet(null, e);
            outcome = error(task.failure.get());
        }
        catch (OutOfMemoryError e) {
            // what the lab exists to prevent: counted, reported, and the worker goes on
            outOfMemoryErrors.incrementAndGet();
            outcome = "ERROR " + WorkloadRunner.JVM_OUT_OF_MEMORY;
        }
        catch (Throwable e) {
            e.printStackTrace();
            outcome = "ERROR " + WorkloadRunner.INTERNAL_ERROR;
            task.failure.compareAndSet(null, new MemoryGovernanceException(ErrorCode.GENERIC_MEMORY_ERROR, "the lab failed running the task: " + e));
        }
        long cpu = THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : 0;
        String[] words = outcome.split(" ", 3);
        if (words[0].equals("OK")) {
            print("TASK " + spec.id() + " OK " + words[1] + " " + cpu + " " + task.spilledBytes.get());
        }
        else {
            MemoryGovernanceException failure = task.failure.get();
            String message = failure == null ? words[1] : failure.getMessage();
            print("TASK " + spec.id() + " ERROR " + words[1] + " " + cpu + " " + task.spilledBytes.get() + " " + oneLine(message));
        }
    }

    private static String error(MemoryGovernanceException failure)
    {
        return "ERROR " + (failure instanceof Cancelled ? "CANCELLED" : failure.errorCode().name());
    }

    /** Memgov failed a query (or tasks of it) on this node: the lab hears of it, and the task stops at its next check. */
    private void failed(QueryId queryId, java.util.Set<TaskId> failedTasks, ErrorCode errorCode, String message)
    {
        String taskIds = failedTasks.isEmpty() ? "-" : failedTasks.stream().map(TaskId::toString).sorted().collect(Collectors.joining(","));
        print("FAILED " + queryId + " " + errorCode.name() + " " + taskIds + " " + oneLine(message));
        Task task = tasks.get(queryId.toString());
        if (task != null) {
            task.failure.compareAndSet(null, new QueryKilledException(errorCode, message));
        }
    }

    private void cancel(String queryId)
    {
        Task task = tasks.get(queryId);
        if (task != null) {
            task.failure.compareAndSet(null, new Cancelled(queryId));
        }
        else {
            cancelledEarly.add(queryId);
        }
    }

    private void end(String queryId, QueryState state)
    {
        Task task = tasks.remove(queryId);
        if (task == null) {
            // its task never started here (refused at creation)
            print("ENDED " + queryId + " 0 0 0");
            return;
        }
        task.query.close(state);
        spillFiles.releaseQuery(QueryId.of(queryId));
        print("ENDED " + queryId + " " + task.query.peakBytes() + " " + task.query.cumulativeUserMemoryByteSeconds() + " "
                + task.query.cumulativeTotalMemoryByteSeconds());
    }

    private void after()
    {
        // as the embedded lab does: one more round, so that the leak detector and the killers see the end state
        engine.cluster().process();
        long gcMillis = 0;
        for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcMillis += Math.max(0, collector.getCollectionTime());
        }
        var heap = engine.heapSnapshot();
        long peakHeap;
        long peakUntracked;
        synchronized (this) {
            peakHeap = peakHeapBytes;
            peakUntracked = peakUntrackedBytes;
        }
        print(String.format("AFTER %d %d %d %d %d %d %d %d %d %d", node.pool().reservedBytes(), node.pool().reservedRevocableBytes(),
                WorkloadRunner.countSpillFiles(spillDirectory), peakHeap, Runtime.getRuntime().maxMemory(), peakUntracked,
                heap.youngCollections(), heap.fullCollections(), gcMillis, outOfMemoryErrors.get()));
    }

    /** Every 100ms: the sample, and the coordinator's role and view when they change. */
    private void watch()
    {
        try {
            long heapUsed = MEMORY.getHeapMemoryUsage().getUsed();
            long untracked = engine.heapSnapshot().untrackedBytes();
            synchronized (this) {
                peakHeapBytes = Math.max(peakHeapBytes, heapUsed);
                peakUntrackedBytes = Math.max(peakUntrackedBytes, untracked);
            }
            List<String> blocked = tasks.values().stream().filter(task -> task.blocked.get() > 0).map(task -> task.spec.id()).sorted().toList();
            print("SAMPLE " + node.pool().reservedBytes() + " " + node.pool().reservedRevocableBytes() + " " + node.pool().maxBytes() + " " + heapUsed
                    + " " + (blocked.isEmpty() ? "-" : String.join(",", blocked)));
            boolean now = engine.metrics().snapshot().getOrDefault(COORDINATOR_GAUGE, 0L) == 1;
            if (now != coordinator) {
                coordinator = now;
                print("COORDINATOR " + now);
            }
            int nodes = coordinator ? engine.cluster().lastNodes().size() : 0;
            if (nodes != nodesSeen) {
                nodesSeen = nodes;
                if (coordinator) {
                    print("NODES " + nodes);
                }
            }
        }
        catch (RuntimeException | OutOfMemoryError e) {
            // a lost sample; the next one comes in 100ms
            e.printStackTrace();
        }
    }

    private static String oneLine(String text)
    {
        return text.replace('\n', ' ').replace('\r', ' ');
    }

    private static synchronized void print(String line)
    {
        System.out.println(line);
        System.out.flush();
    }
}
