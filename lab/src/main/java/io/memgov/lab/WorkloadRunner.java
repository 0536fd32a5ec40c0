package io.memgov.lab;

import io.memgov.arrow.ArrowNodeMemory;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.engine.NodeMemory;
import io.memgov.lab.RunResult.Kill;
import io.memgov.lab.RunResult.QueryResult;
import io.memgov.lab.RunResult.Sample;
import io.memgov.lab.RunResult.Status;
import io.memgov.lab.RunResult.Totals;
import io.memgov.lab.Workload.OperatorKind;
import io.memgov.lab.Workload.QuerySpec;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.spill.SpillFileManager;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static java.util.Objects.requireNonNull;

/**
 * Runs a workload on an engine: each query gets one task per node, each task one operator on its own thread (as a
 * driver on a worker); queries arrive at their arrival times. Samples pool use while it runs, records every kill,
 * verifies every finished query's result and checks afterwards that no memory and no spill file was left behind.
 * The lab does not retry: a query whose task was killed is killed.
 */
final class WorkloadRunner
{
    static final long SAMPLE_MILLIS = 100;
    // every running query waiting for memory and nothing changing this long: no killer will act (e.g. policy none),
    // so the lab fails the waiting queries rather than hang
    static final long STALL_MILLIS = 5000;
    static final String STALLED = "STALLED";
    /** The error of a query that a JVM {@code OutOfMemoryError} ended, on any of its threads. */
    static final String JVM_OUT_OF_MEMORY = "JVM_OUT_OF_MEMORY";
    /** The error of a query whose own thread ended with an exception the lab did not expect: a lab bug, exit code 1. */
    static final String INTERNAL_ERROR = "INTERNAL_ERROR";
    // how long an Arrow allocation waits for a full pool before its query fails; a killer usually frees memory first
    static final Duration ARROW_MAX_WAIT = Duration.ofSeconds(30);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    // expected answers are computed outside memgov; one at a time keeps that ungoverned heap small
    static final Object VERIFY_LOCK = new Object();

    /** What the progress line shows; {@code reservedBytes} per node, including revocable bytes. */
    record Progress(long millis, int waiting, int running, int blocked, int finished, int killed, int failed,
            List<String> nodes, long[] reservedBytes, long[] maxBytes) {}

    private final MemoryEngine engine;
    private final Workload workload;
    private final String label;
    private final LabConfig.Resolved config;

    /** @param config the configuration the engine was built with: recorded in the result, and the spill files' settings */
    WorkloadRunner(MemoryEngine engine, Workload workload, String label, LabConfig.Resolved config)
    {
        this.engine = requireNonNull(engine, "engine is null");
        this.workload = requireNonNull(workload, "workload is null");
        this.label = requireNonNull(label, "label is null");
        this.config = requireNonNull(config, "config is null");
    }

    private static final class QueryRun
    {
        final QuerySpec spec;
        final AtomicReference<MemoryGovernanceException> failure = new AtomicReference<>();
        final AtomicInteger blockedTasks = new AtomicInteger();
        final AtomicLong cpuNanos = new AtomicLong();
        final AtomicLong spilledBytes = new AtomicLong();
        // made before the query starts: a thread out of memory may have no heap left to describe it
        final JvmOutOfMemory outOfMemory;
        volatile boolean started;
        volatile QueryResult result;
        // what ended the query's own thread (or its start) before it made a result; the main thread makes one from it
        volatile Throwable crash;
        // the tasks whose threads run now, with the pool a kill keeps their heap in (OperatorDriver#holdAfterKill)
        final Map<TaskId, RunningTask> runningTasks = new ConcurrentHashMap<>();

        QueryRun(QuerySpec spec)
        {
            this.spec = spec;
            this.outOfMemory = new JvmOutOfMemory(spec.id());
        }

        /** Counts a JVM {@code OutOfMemoryError} on one of the query's threads and stops the others; allocates nothing. */
        void outOfMemory(OutOfMemoryError error)
        {
            outOfMemory.record(error);
            failure.compareAndSet(null, outOfMemory);
        }

        boolean ended()
        {
            return result != null || crash != null;
        }
    }

    RunResult run(Consumer<Progress> progress)
            throws InterruptedException
    {
        List<QuerySpec> specs = workload.expand();
        Map<String, QueryRun> runs = new ConcurrentHashMap<>();
        specs.forEach(spec -> runs.put(spec.id(), new QueryRun(spec)));
        List<NodeMemory> nodes = engine.nodes();
        List<String> nodeIds = nodes.stream().map(node -> node.nodeId().toString()).toList();
        List<Kill> kills = new CopyOnWriteArrayList<>();
        List<Sample> timeline = new ArrayList<>();
        HeapRecorder heap = new HeapRecorder(engine);
        long start = System.nanoTime();

        engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> {
            QueryRun run = runs.get(queryId.toString());
            if (run == null) {
                return;
            }
            kills.add(new Kill(millisSince(start), queryId.toString(), tasks.stream().map(TaskId::toString).sorted().toList(), errorCode.name()));
            // memgov released the query's memory; its operators hold the heap until they notice: keep it counted till then
            run.runningTasks.forEach((taskId, task) -> {
                if (tasks.isEmpty() || tasks.contains(taskId)) {
                    task.driver().holdAfterKill(task.pool(), taskId);
                }
            });
            // no retries in the lab: losing a task loses the query
            run.failure.compareAndSet(null, new QueryKilledException(errorCode, message));
        });

        int labOutOfMemoryErrors = 0;
        Path spillDirectory = createSpillDirectory();
        List<SpillFileManager> spillFiles = new ArrayList<>();
        // one Arrow root per node, only when an operator allocates through Arrow; its memory is the JVM's direct memory
        List<ArrowNodeMemory> arrowNodes = new ArrayList<>();
        ScheduledExecutorService arrivals = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "lab-arrivals");
            thread.setDaemon(true);
            return thread;
        });
        try {
            for (int i = 0; i < nodes.size(); i++) {
                spillFiles.add(new SpillFileManager(config.spill(spillDirectory)));
            }
            if (specs.stream().anyMatch(spec -> spec.operator() == OperatorKind.ARROW_HASH_AGGREGATION)) {
                for (NodeMemory node : nodes) {
                    arrowNodes.add(ArrowNodeMemory.builder(node).maxWait(ARROW_MAX_WAIT).allocationManagerFactory(DirectBufferAllocationManager.FACTORY).build());
                }
            }
            CountDownLatch done = new CountDownLatch(specs.size());
            for (QuerySpec spec : specs) {
                QueryRun run = runs.get(spec.id());
                arrivals.schedule(() -> {
                    try {
                        Thread thread = new Thread(() -> {
                            try {
                                run.result = runQuery(run, spillFiles, arrowNodes, start);
                            }
                            catch (Throwable e) {
                                // nothing allocated here: the main thread makes the query's result from it at the end
                                run.crash = e;
                            }
                            finally {
                                done.countDown();
                            }
                        }, "lab-" + spec.id());
                        run.started = true;
                        thread.start();
                    }
                    catch (Throwable e) {
                        // no thread (out of heap or of native threads): the query fails, the run goes on
                        run.crash = e;
                        done.countDown();
                    }
                }, spec.arrivalMillis(), TimeUnit.MILLISECONDS);
            }
            String lastState = "";
            long lastChange = 0;
            while (true) {
                boolean finished = done.await(SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
                try {
                    long now = millisSince(start);
                    timeline.add(sample(nodes, spillFiles, engine, now));
                    heap.sample(now);
                    Progress current = progress(runs.values(), nodes, nodeIds, now);
                    progress.accept(current);
                    if (finished) {
                        break;
                    }
                    String state = current.finished() + "/" + current.killed() + "/" + current.failed() + "/" + java.util.Arrays.toString(current.reservedBytes());
                    if (!state.equals(lastState) || current.running() == 0 || current.blocked() < current.running()) {
                        lastState = state;
                        lastChange = now;
                    }
                    else if (now - lastChange > STALL_MILLIS) {
                        String message = String.format("memgov-lab: every running query waited for memory for %d ms and no killer freed any "
                                        + "(task killer '%s', query killer '%s'); the lab failed the waiting queries", now - lastChange,
                                engine.policyName(PolicyFamily.TASK_KILLER),
                                engine.policyName(PolicyFamily.QUERY_KILLER));
                        runs.values().stream().filter(run -> run.started && !run.ended())
                                .forEach(run -> run.failure.compareAndSet(null, new Stalled(message)));
                        lastChange = now;
                    }
                }
                catch (OutOfMemoryError e) {
                    // the heap ran out under this thread's sample: counted, the sample lost, the run goes on
                    labOutOfMemoryErrors++;
                    if (finished) {
                        break;
                    }
                }
            }
            long wallMillis = millisSince(start);
            // one more round of the cluster loop, so that the leak detector and killers see the end state
            engine.cluster().process();
            List<QueryResult> results = specs.stream()
                    .map(spec -> resultOf(runs.get(spec.id()), wallMillis))
                    .sorted(Comparator.comparingInt(result -> Integer.parseInt(result.id().substring(1))))
                    .toList();
            // Arrow memory still allocated after every query ended was leaked: counted as left behind like a reservation
            long reservedAfter = nodes.stream().mapToLong(node -> node.pool().reservedBytes() + node.pool().reservedRevocableBytes()
                            + node.directPool().map(direct -> direct.reservedBytes() + direct.reservedRevocableBytes()).orElse(0L)).sum()
                    + arrowNodes.stream().mapToLong(ArrowNodeMemory::allocatedBytes).sum();
            int spillFilesLeft = countSpillFiles(spillDirectory);
            RunResult.Heap heapFigures = heap.finish();
            Totals totals = totals(results, timeline, labOutOfMemoryErrors, heapFigures.outOfMemoryErrorsThrown(), reservedAfter, spillFilesLeft, wallMillis, 0);
            return new RunResult(label, workload.seed(), nodeIds, nodes.get(0).pool().maxBytes(), results, totals,
                    RunResult.Arbitration.of(engine.arbitrationSnapshot()), timeline, kills, heapFigures, heap.timeline(), List.of(),
                    RunResult.Settings.of(engine, config));
        }
        finally {
            arrivals.shutdownNow();
            try {
                arrowNodes.forEach(ArrowNodeMemory::close);
                spillFiles.forEach(SpillFileManager::close);
            }
            finally {
                deleteQuietly(spillDirectory);
            }
        }
    }

    /** The query's result; made here when its thread ended without one (see {@link QueryRun#crash}). */
    private static QueryResult resultOf(QueryRun run, long wallMillis)
    {
        if (run.result != null) {
            return run.result;
        }
        QuerySpec spec = run.spec;
        Throwable crash = requireNonNull(run.crash, () -> "query " + spec.id() + " ended with neither a result nor a failure");
        if (crash instanceof OutOfMemoryError outOfMemory) {
            run.outOfMemory(outOfMemory);
            return new QueryResult(spec.id(), spec.user(), spec.operator().fileName(), Status.FAILED, JVM_OUT_OF_MEMORY,
                    run.outOfMemory.describe(), 0, run.spilledBytes.get(), run.cpuNanos.get(), spec.arrivalMillis(), wallMillis, false, 0, 0);
        }
        crash.printStackTrace();
        return new QueryResult(spec.id(), spec.user(), spec.operator().fileName(), Status.FAILED, INTERNAL_ERROR,
                "the lab failed running the query: " + crash, 0, run.spilledBytes.get(), run.cpuNanos.get(), spec.arrivalMillis(), wallMillis, false, 0, 0);
    }

    private QueryResult runQuery(QueryRun run, List<SpillFileManager> spillFiles, List<ArrowNodeMemory> arrowNodes, long runStart)
    {
        QuerySpec spec = run.spec;
        QueryId queryId = QueryId.of(spec.id());
        long startMillis = millisSince(runStart);
        List<QueryMemoryContext> contexts = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        int nodes = engine.nodes().size();
        long[] checksums = new long[nodes];
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        Status status = Status.FAILED;
        String errorCode = "";
        String message = "";
        boolean verified = false;
        try {
            QuerySession.Builder session = QuerySession.builder(spec.user());
            spec.session().forEach(session::property);
            for (int n = 0; n < nodes; n++) {
                contexts.add(engine.node(n).createQuery(queryId, session.build()));
            }
            for (int n = 0; n < nodes; n++) {
                int node = n;
                long taskSeed = taskSeed(spec, n);
                TaskMemoryContext task = contexts.get(n).addTask("0." + n);
                OperatorMemoryContext operator = task.addOperator(tag(spec.operator()));
                Thread thread = new Thread(() -> {
                    try {
                        checksums[node] = runTask(run, taskSeed, task, operator, engine.node(node).pool(), spillFiles.get(node),
                                arrowNodes.isEmpty() ? null : arrowNodes.get(node), unexpected);
                    }
                    catch (OutOfMemoryError e) {
                        // again, while handling a first failure: still this query's, and the thread ends quietly
                        run.outOfMemory(e);
                    }
                }, "lab-" + spec.id() + "-task-" + n);
                threads.add(thread);
            }
            for (Thread thread : threads) {
                thread.start();
            }
            for (Thread thread : threads) {
                thread.join();
            }
            MemoryGovernanceException failure = run.failure.get();
            if (failure == null) {
                status = Status.FINISHED;
                verified = true;
                synchronized (VERIFY_LOCK) {
                    for (int n = 0; n < nodes; n++) {
                        long taskSeed = taskSeed(spec, n);
                        verified &= checksums[n] == expected(spec, taskSeed);
                    }
                }
            }
            else {
                status = failure.errorCode() == ErrorCode.CLUSTER_OUT_OF_MEMORY || failure.errorCode() == ErrorCode.KILLED_BY_OVERCOMMIT
                        || failure.errorCode() == ErrorCode.MEMORY_ARBITRATION_FAILED
                        || failure.errorCode() == ErrorCode.EXCEEDED_HEAP_MEMORY_LIMIT
                        ? Status.KILLED : Status.FAILED;
                errorCode = run.outOfMemory.count() > 0 ? JVM_OUT_OF_MEMORY : failure instanceof Stalled ? STALLED : failure.errorCode().name();
                message = run.outOfMemory.count() > 0 ? run.outOfMemory.describe() : failure.getMessage();
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            message = "interrupted";
        }
        catch (MemoryGovernanceException e) {
            errorCode = e.errorCode().name();
            message = e.getMessage();
        }
        catch (OutOfMemoryError e) {
            // on the query's own thread: starting its tasks or checking its answer
            run.outOfMemory(e);
            status = Status.FAILED;
            verified = false;
            errorCode = JVM_OUT_OF_MEMORY;
            message = run.outOfMemory.describe();
        }
        finally {
            stopAndJoin(run, threads);
            // one lifecycle step: closing each node's context with the query's final state reports its end
            QueryState finalState = status == Status.FINISHED ? QueryState.FINISHED : QueryState.FAILED;
            contexts.forEach(context -> context.close(finalState));
            spillFiles.forEach(manager -> manager.releaseQuery(queryId));
        }
        if (unexpected.get() != null) {
            unexpected.get().printStackTrace();
        }
        long peak = contexts.stream().mapToLong(QueryMemoryContext::peakBytes).sum();
        // final: each context sampled what it held when it was closed
        double cumulativeUser = contexts.stream().mapToDouble(QueryMemoryContext::cumulativeUserMemoryByteSeconds).sum();
        double cumulativeTotal = contexts.stream().mapToDouble(QueryMemoryContext::cumulativeTotalMemoryByteSeconds).sum();
        return new QueryResult(spec.id(), spec.user(), spec.operator().fileName(), status, errorCode, message, peak,
                run.spilledBytes.get(), run.cpuNanos.get(), startMillis, millisSince(runStart), verified, cumulativeUser, cumulativeTotal);
    }

    /** One task of the query, on its own thread; returns the task's checksum, or 0 when the query failed. */
    private static long runTask(QueryRun run, long taskSeed, TaskMemoryContext task, OperatorMemoryContext operator, MemoryPool pool,
            SpillFileManager spillFiles, ArrowNodeMemory arrowNode, AtomicReference<Throwable> unexpected)
    {
        OperatorDriver driver = new OperatorDriver(run.failure::get, run.blockedTasks);
        TaskId taskId = task.taskId();
        run.runningTasks.put(taskId, new RunningTask(driver, pool));
        try {
            try {
                return runOperator(run.spec, taskSeed, operator, driver, spillFiles, arrowNode, run.spilledBytes);
            }
            finally {
                operator.close();
                // the operator is unreachable now: what a kill held for it goes back to the pool
                run.runningTasks.remove(taskId);
                driver.taskEnded();
                // the host's handle of the task: closed here, not left to the engine's cleaner
                task.close();
            }
        }
        catch (MemoryGovernanceException e) {
            run.failure.compareAndSet(null, e);
        }
        catch (OutOfMemoryError e) {
            // the one thing the lab exists to prevent: count it, fail the query, keep going
            run.outOfMemory(e);
        }
        catch (Throwable e) {
            unexpected.compareAndSet(null, e);
            run.failure.compareAndSet(null, new MemoryGovernanceException(ErrorCode.GENERIC_MEMORY_ERROR, "operator failed: " + e));
        }
        finally {
            run.cpuNanos.addAndGet(THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : 0);
        }
        return 0;
    }

    // tasks started before the query's own thread failed must not outlive the query's contexts: they stop at their next check
    private static void stopAndJoin(QueryRun run, List<Thread> threads)
    {
        boolean interrupted = false;
        for (Thread thread : threads) {
            while (thread.isAlive()) {
                if (run.failure.get() == null) {
                    run.failure.compareAndSet(null, new MemoryGovernanceException(ErrorCode.GENERIC_MEMORY_ERROR, "query " + run.spec.id() + " ended before its tasks"));
                }
                try {
                    thread.join();
                }
                catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    static String tag(OperatorKind kind)
    {
        return switch (kind) {
            case HASH_AGGREGATION -> HashAggregation.TAG;
            case SORT -> Sort.TAG;
            case JOIN_BUILD -> JoinBuild.TAG;
            case ARROW_HASH_AGGREGATION -> ArrowHashAggregation.TAG;
        };
    }

    /** The seed of the query's task on node {@code nodeIndex}: each node's task works on its own data. */
    static long taskSeed(QuerySpec spec, int nodeIndex)
    {
        return spec.seed() * 1_000_003 + nodeIndex;
    }

    /** The task's answer computed independently of the operator, of memgov and of spilling. */
    static long expected(QuerySpec spec, long taskSeed)
    {
        return switch (spec.operator()) {
            case HASH_AGGREGATION -> HashAggregation.expected(taskSeed, spec.rows(), spec.groups());
            case SORT -> Sort.expected(taskSeed, spec.rows());
            case JOIN_BUILD -> JoinBuild.expected(taskSeed, spec.rows());
            // the same rows and the same query as the heap aggregation
            case ARROW_HASH_AGGREGATION -> HashAggregation.expected(taskSeed, spec.rows(), spec.groups());
        };
    }

    static long runOperator(QuerySpec spec, long seed, OperatorMemoryContext operator, OperatorDriver driver,
            SpillFileManager spillFiles, ArrowNodeMemory arrowNode, AtomicLong spilledBytes)
            throws InterruptedException
    {
        switch (spec.operator()) {
            case HASH_AGGREGATION -> {
                HashAggregation aggregation = new HashAggregation(seed, spec.rows(), spec.groups(), operator, spec.revocable(), driver, spillFiles);
                if (spec.revocable()) {
                    operator.setRevocableConsumer(aggregation.revocableConsumer());
                }
                try {
                    return aggregation.run();
                }
                finally {
                    spilledBytes.addAndGet(aggregation.spilledBytes());
                }
            }
            case SORT -> {
                Sort sort = new Sort(seed, spec.rows(), operator, spec.revocable(), driver, spillFiles);
                if (spec.revocable()) {
                    operator.setRevocableConsumer(sort.revocableConsumer());
                }
                try {
                    return sort.run();
                }
                finally {
                    spilledBytes.addAndGet(sort.spilledBytes());
                }
            }
            case JOIN_BUILD -> {
                JoinBuild join = new JoinBuild(seed, spec.rows(), operator, spec.revocable(), driver, spillFiles);
                if (spec.revocable()) {
                    operator.setRevocableConsumer(join.revocableConsumer());
                }
                try {
                    return join.run();
                }
                finally {
                    spilledBytes.addAndGet(join.spilledBytes());
                }
            }
            case ARROW_HASH_AGGREGATION -> {
                ArrowHashAggregation aggregation = new ArrowHashAggregation(seed, spec.rows(), spec.groups(), arrowNode.operator(operator), spec.revocable(),
                        driver, spillFiles);
                if (spec.revocable()) {
                    operator.setRevocableConsumer(aggregation.revocableConsumer());
                }
                try {
                    return aggregation.run();
                }
                finally {
                    spilledBytes.addAndGet(aggregation.spilledBytes());
                }
            }
            default -> throw new IllegalStateException("unknown operator " + spec.operator());
        }
    }

    private static Sample sample(List<NodeMemory> nodes, List<SpillFileManager> spillFiles, MemoryEngine engine, long millis)
    {
        long[] reserved = new long[nodes.size()];
        long[] revocable = new long[nodes.size()];
        long[] spilled = new long[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            revocable[i] = nodes.get(i).pool().reservedRevocableBytes();
            reserved[i] = nodes.get(i).pool().reservedBytes() + revocable[i];
            spilled[i] = spillFiles.get(i).totalSpilledBytes();
        }
        return new Sample(millis, reserved, revocable, spilled, engine.arbitrationSnapshot().arbitrations());
    }

    private static Progress progress(java.util.Collection<QueryRun> runs, List<NodeMemory> nodes, List<String> nodeIds, long millis)
    {
        int waiting = 0;
        int running = 0;
        int blocked = 0;
        int finished = 0;
        int killed = 0;
        int failed = 0;
        for (QueryRun run : runs) {
            QueryResult result = run.result;
            if (result != null) {
                switch (result.status()) {
                    case FINISHED -> finished++;
                    case KILLED -> killed++;
                    case FAILED -> failed++;
                }
            }
            else if (run.crash != null) {
                failed++;
            }
            else if (!run.started) {
                waiting++;
            }
            else {
                running++;
                if (run.blockedTasks.get() > 0) {
                    blocked++;
                }
            }
        }
        long[] reserved = new long[nodes.size()];
        long[] max = new long[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            reserved[i] = nodes.get(i).pool().reservedBytes() + nodes.get(i).pool().reservedRevocableBytes();
            max[i] = nodes.get(i).pool().maxBytes();
        }
        return new Progress(millis, waiting, running, blocked, finished, killed, failed, nodeIds, reserved, max);
    }

    /** @param outOfMemoryErrorsThrown the JVM's own count during the run, or -1 when unknown */
    static Totals totals(List<QueryResult> results, List<Sample> timeline, int labOutOfMemoryErrors, long outOfMemoryErrorsThrown,
            long reservedAfter, int spillFilesLeft, long wallMillis, int workersLost)
    {
        int finished = 0;
        int killed = 0;
        int failed = 0;
        int wrong = 0;
        int outOfMemory = labOutOfMemoryErrors;
        int internalErrors = 0;
        long wasted = 0;
        long spilled = 0;
        for (QueryResult result : results) {
            switch (result.status()) {
                case FINISHED -> finished++;
                case KILLED -> killed++;
                case FAILED -> failed++;
            }
            if (result.status() == Status.FINISHED && !result.verified()) {
                wrong++;
            }
            if (result.status() != Status.FINISHED) {
                wasted += result.cpuNanos();
            }
            if (result.errorCode().equals(JVM_OUT_OF_MEMORY)) {
                outOfMemory++;
            }
            if (result.errorCode().equals(INTERNAL_ERROR)) {
                internalErrors++;
            }
            spilled += result.spilledBytes();
        }
        // one the lab did not see (an engine thread's, or one caught and survived) still counts
        outOfMemory = (int) Math.max(outOfMemory, Math.min(Integer.MAX_VALUE, outOfMemoryErrorsThrown));
        long peak = timeline.stream().flatMapToLong(sample -> java.util.Arrays.stream(sample.reservedBytes())).max().orElse(0);
        return new Totals(results.size(), finished, killed, failed, wrong, outOfMemory, internalErrors, wasted, peak, spilled, reservedAfter, spillFilesLeft,
                wallMillis, workersLost);
    }

    /** The lab, not memgov, gave up on a query: see {@link #STALL_MILLIS}. */
    private static final class Stalled
            extends MemoryGovernanceException
    {
        Stalled(String message)
        {
            super(ErrorCode.GENERIC_MEMORY_ERROR, message);
        }
    }

    /** A task whose thread runs: its operator's driver and the pool of its node. */
    private record RunningTask(OperatorDriver driver, MemoryPool pool) {}

    /**
     * A query's JVM {@code OutOfMemoryError}s, and the failure its other threads stop on. Made before the query starts,
     * and recording one allocates nothing: the thread that caught it may have no heap left.
     */
    private static final class JvmOutOfMemory
            extends MemoryGovernanceException
    {
        // enough to name the operator and its phase, few enough for a line of the sweep's summary
        private static final int OUT_OF_MEMORY_FRAMES = 6;
        private static final String NOT_DESCRIBED = "java.lang.OutOfMemoryError (not described: the heap was still full)";
        private final AtomicInteger count = new AtomicInteger();
        // the first error itself: its message ("Java heap space") and where it was thrown, described once the heap is back
        private volatile OutOfMemoryError first;

        JvmOutOfMemory(String queryId)
        {
            super(ErrorCode.GENERIC_MEMORY_ERROR, "java.lang.OutOfMemoryError on a thread of query " + queryId);
        }

        void record(OutOfMemoryError error)
        {
            if (count.getAndIncrement() == 0) {
                first = error;
            }
        }

        int count()
        {
            return count.get();
        }

        /** The first error's message and its innermost frames: where the query allocated what the heap did not have. */
        String describe()
        {
            return describe(first);
        }

        static String describe(OutOfMemoryError error)
        {
            try {
                StringBuilder description = new StringBuilder(String.valueOf(error));
                StackTraceElement[] stack = error == null ? new StackTraceElement[0] : error.getStackTrace();
                for (int frame = 0; frame < Math.min(OUT_OF_MEMORY_FRAMES, stack.length); frame++) {
                    description.append(frame == 0 ? " at " : " < ").append(stack[frame]);
                }
                return description.toString();
            }
            catch (OutOfMemoryError again) {
                // describing it takes heap too; the query still fails with JVM_OUT_OF_MEMORY
                return NOT_DESCRIBED;
            }
        }

        // one instance thrown on several threads: a stack trace would say nothing, and costs heap
        @Override
        public synchronized Throwable fillInStackTrace()
        {
            return this;
        }
    }

    private static long millisSince(long startNanos)
    {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static Path createSpillDirectory()
    {
        try {
            Path directory = Files.createTempDirectory("memgov-lab-spill-");
            // the last resort when the run cannot reach its own clean-up (e.g. the main thread out of heap)
            directory.toFile().deleteOnExit();
            return directory;
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot create the lab's spill directory under " + System.getProperty("java.io.tmpdir"), e);
        }
    }

    /** Counts the spill manager's files ({@code memgov-spill-*}) still on disk. */
    static int countSpillFiles(Path directory)
    {
        try (Stream<Path> files = Files.list(directory)) {
            return (int) files.filter(path -> path.getFileName().toString().startsWith("memgov-spill-")).count();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot list the spill directory " + directory, e);
        }
    }

    private static void deleteQuietly(Path directory)
    {
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(directory);
        }
        catch (IOException e) {
            System.err.println("memgov-lab: cannot delete the spill directory " + directory + ": " + e.getMessage());
        }
    }
}
