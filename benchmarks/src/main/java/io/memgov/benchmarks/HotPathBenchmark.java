package io.memgov.benchmarks;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.tracker.MemoryTracker;
import io.airlift.units.DataSize;
import io.trino.execution.StageId;
import io.trino.execution.TaskId;
import io.trino.memory.MemoryPool;
import io.trino.memory.MemoryPoolListener;
import io.trino.memory.context.AggregatedMemoryContext;
import io.trino.memory.context.MemoryReservationHandler;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The accounting hot path (issues #10, #7 and #21): what one operator pays to report a changed size, in memgov and in
 * the libraries it is compared with, all in one run so that the ratios are comparable.
 *
 * <p>Every accounting benchmark moves the leaf by {@link #DELTA} (64 KB) per call, in one of two workloads
 * ({@link Steps}): {@code alternating}, up and down around 4 MB, so that half the calls reserve, half release and
 * nothing grows (a quantum's reservation then holds every change); and {@code sawtooth}, 256 steps up from 4 MB to
 * 20 MB and 256 steps back down, so that the leaf crosses quanta at a realistic rate (every 16 calls with memgov's 1 MB
 * quantum, across its 16 MB tier boundary with the adaptive one). Each benchmark thread owns its own query (its own
 * leaf, task and query levels); all threads share one pool or root, which is the contended case of two queries on
 * one node. Run at 1 and 2 threads by {@code run.sh}.
 *
 * <p>Depths count the accounting levels above the leaf, so that the columns line up across libraries:
 * <ul>
 * <li>memgov depth 3: operator context → task → query → pool ({@code fixed}), the engine's whole chain; the query
 *     step also carries the delta through the tracker's query → user → node levels. memgov has no driver or pipeline
 *     level, so depth 5 is that chain behind two host-side synchronized aggregation levels, which is what a
 *     Trino-shaped host would add to keep its driver and pipeline totals; it is not a memgov feature.</li>
 * <li>Trino depth 3: Trino 435's {@code trino-memory-context}, local → aggregated → root aggregated → handler; depth
 *     5: local → three aggregated → root → handler, Trino's own operator → driver → pipeline → task → query shape. The
 *     handler is either Trino 435's own {@code io.trino.memory.MemoryPool} from trino-main behind the per-query limit
 *     check Trino's {@code QueryContext} makes under the query's monitor ({@link QueryLimit}, written here: the query
 *     context itself needs a whole worker), or a bare shared {@link AtomicLong}.</li>
 * <li>Arrow depth 1: a child allocator of the root; depth 3: query → task → operator child allocators under the root.
 *     Each call is one {@code forceAllocate} or {@code releaseBytes} on the leaf, Arrow's accountant walking its
 *     parents with no memory allocated.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "--add-opens=java.base/java.nio=ALL-UNNAMED"})
public class HotPathBenchmark
{
    static final long DELTA = 64 * 1024;
    // above Trino's and memgov's 1 MB task guarantee, so that the pools' blocking checks run as they would in a real query
    static final long BASE = 4 * 1024 * 1024;
    // the sawtooth's height above BASE: 256 steps of DELTA
    static final long SAWTOOTH = 16 * 1024 * 1024;
    static final String TAG = "HashAggregation";

    /**
     * One thread's walk of the leaf's size: the next delta of {@link #DELTA} either way, and where the leaf is. Both
     * workloads start at {@link #BASE}, where every benchmark's leaf is set before the measurement.
     */
    @State(Scope.Thread)
    public static class Steps
    {
        @Param({"alternating", "sawtooth"})
        public String workload;

        private long top;
        // above BASE, 0 .. top
        private long offset;
        private boolean rising = true;

        @Setup
        public void setUp()
        {
            top = switch (workload) {
                case "alternating" -> DELTA;
                case "sawtooth" -> SAWTOOTH;
                default -> throw new IllegalArgumentException("Unknown workload '" + workload + "'; expected alternating or sawtooth");
            };
        }

        /** Moves the leaf one step and returns the change: {@code +DELTA} or {@code -DELTA}. */
        long nextDelta()
        {
            if (offset == top) {
                rising = false;
            }
            else if (offset == 0) {
                rising = true;
            }
            long delta = rising ? DELTA : -DELTA;
            offset += delta;
            return delta;
        }

        /** Moves the leaf one step and returns its new size. */
        long nextBytes()
        {
            nextDelta();
            return BASE + offset;
        }
    }

    // ---------------------------------------------------------------- baselines

    @State(Scope.Benchmark)
    public static class SharedCounters
    {
        final AtomicLong atomicLong = new AtomicLong();
        final LongAdder longAdder = new LongAdder();
    }

    /** A plain field of an object only one thread touches: the floor for any accounting. */
    @State(Scope.Thread)
    public static class ThreadCounter
    {
        long bytes;
    }

    @Benchmark
    public long baselineAtomicLongAddAndGet(SharedCounters counters)
    {
        return counters.atomicLong.addAndGet(DELTA);
    }

    @Benchmark
    public void baselineLongAdderAdd(SharedCounters counters)
    {
        counters.longAdder.add(DELTA);
    }

    @Benchmark
    public long baselineThreadLocalField(ThreadCounter counter)
    {
        counter.bytes += DELTA;
        return counter.bytes;
    }

    // ---------------------------------------------------------------- memgov

    @State(Scope.Benchmark)
    public static class ExactEngine
    {
        final Engines.Shared shared = new Engines.Shared();

        // adaptive (the default): on this 8 GB pool 1 MB quanta under 16 MB, 4 MB above (Velox's); 0B: every change
        // reaches the pool (Trino)
        @Param({"adaptive", "0B"})
        public String reservationQuantum;

        @Setup
        public void setUp()
        {
            shared.start(Map.of(
                    "memory.tracker.policy", "exact",
                    "memory.reservation-quantum", reservationQuantum));
        }

        @TearDown
        public void tearDown()
        {
            shared.stop();
        }
    }

    @State(Scope.Benchmark)
    public static class BatchedEngine
    {
        final Engines.Shared shared = new Engines.Shared();

        @Param({"adaptive", "0B"})
        public String reservationQuantum;

        @Setup
        public void setUp()
        {
            // ClickHouse's default batch: a thread carries its balance up only past 4 MB either way
            shared.start(Map.of(
                    "memory.tracker.policy", "thread-batched",
                    "memory.tracker.thread-batched.max-untracked-memory", "4MB",
                    "memory.reservation-quantum", reservationQuantum));
        }

        @TearDown
        public void tearDown()
        {
            shared.stop();
        }
    }

    /** One thread's query on the shared node: a task with one operator, and the query's tracker. */
    public abstract static class MemgovQuery
    {
        QueryMemoryContext query;
        LocalMemoryContext operator;
        MemoryTracker tracker;
        HostLevel driver;
        // what the tracker benchmarks left allocated on the tracker
        long trackerBytes;

        Engines.Shared shared;

        void open(Engines.Shared shared)
        {
            this.shared = shared;
            query = shared.newQuery();
            operator = query.addTask("0").addOperator(TAG).userMemory();
            operator.setBytes(BASE);
            tracker = query.tracker();
            driver = new HostLevel(new HostLevel(null, operator), null);
        }

        void close()
        {
            if (trackerBytes != 0) {
                tracker.free(trackerBytes);
            }
            query.close();
            shared.queryClosed();
        }
    }

    @State(Scope.Thread)
    public static class ExactQuery
            extends MemgovQuery
    {
        @Setup
        public void setUp(ExactEngine engine)
        {
            open(engine.shared);
        }

        @TearDown
        public void tearDown()
        {
            close();
        }
    }

    @State(Scope.Thread)
    public static class BatchedQuery
            extends MemgovQuery
    {
        @Setup
        public void setUp(BatchedEngine engine)
        {
            open(engine.shared);
        }

        @TearDown
        public void tearDown()
        {
            close();
        }
    }

    @Benchmark
    public MemoryFuture memgovExactDepth3(ExactQuery query, Steps steps)
    {
        return query.operator.setBytes(steps.nextBytes());
    }

    @Benchmark
    public Object memgovExactDepth5(ExactQuery query, Steps steps)
    {
        return query.driver.add(steps.nextDelta());
    }

    @Benchmark
    public MemoryFuture memgovThreadBatchedDepth3(BatchedQuery query, Steps steps)
    {
        return query.operator.setBytes(steps.nextBytes());
    }

    /** The tracker alone (issue #7): one allocate or free of 64 KB on a query tracker (query → user → node). */
    @Benchmark
    public long memgovExactTrackerCall(ExactQuery query, Steps steps)
    {
        return trackerCall(query, steps);
    }

    /** As {@link #memgovExactTrackerCall}, batched per thread: below 4 MB the call stays in the thread's cell. */
    @Benchmark
    public long memgovThreadBatchedTrackerCall(BatchedQuery query, Steps steps)
    {
        return trackerCall(query, steps);
    }

    private static long trackerCall(MemgovQuery query, Steps steps)
    {
        long delta = steps.nextDelta();
        if (delta > 0) {
            query.tracker.allocate(delta);
        }
        else {
            query.tracker.free(-delta);
        }
        query.trackerBytes += delta;
        return query.trackerBytes;
    }

    /**
     * A host-side aggregation level in front of memgov's operator context (Trino's driver or pipeline context): its
     * total is updated after its parent accepted the delta, under its own monitor, as Trino's aggregated contexts do.
     */
    static final class HostLevel
    {
        private final HostLevel parent;
        private final LocalMemoryContext operator;
        private long bytes;

        HostLevel(HostLevel parent, LocalMemoryContext operator)
        {
            this.parent = parent;
            this.operator = operator;
        }

        synchronized Object add(long delta)
        {
            Object future = parent != null ? parent.add(delta) : operator.addBytes(delta);
            bytes += delta;
            return future;
        }
    }

    // ---------------------------------------------------------------- Trino 435: memory-context library and MemoryPool

    @State(Scope.Benchmark)
    public static class TrinoNode
    {
        MemoryPool pool;
        final AtomicLong atomicTotal = new AtomicLong();
        final OpenThreadStates queries = new OpenThreadStates();

        @Setup
        public void setUp()
        {
            pool = new MemoryPool(DataSize.ofBytes(Engines.POOL_BYTES));
            // Trino's revoking scheduler listens to the pool and is told after every reservation; a listener that
            // only reads the pool stands in for it
            pool.addListener(MemoryPoolListener.onMemoryReserved(reserved -> {
                if (reserved.getFreeBytes() <= 0) {
                    throw new IllegalStateException("benchmark pool is full: " + reserved);
                }
            }));
        }

        @TearDown
        public void tearDown()
        {
            queries.awaitAllClosed();
            if (pool.getReservedBytes() != 0 || atomicTotal.get() != 0) {
                throw new IllegalStateException("Trino accounting did not return to zero: pool " + pool.getReservedBytes() + ", atomic " + atomicTotal.get());
            }
        }
    }

    @State(Scope.Thread)
    public static class TrinoQuery
    {
        io.trino.memory.context.LocalMemoryContext poolDepth3;
        io.trino.memory.context.LocalMemoryContext poolDepth5;
        io.trino.memory.context.LocalMemoryContext atomicDepth3;
        io.trino.memory.context.LocalMemoryContext atomicDepth5;
        TrinoNode node;

        @Setup
        public void setUp(TrinoNode node)
        {
            this.node = node;
            StageId stage = new StageId("trino_" + node.queries.opened(), 0);
            QueryLimit query = new QueryLimit(node.pool, Engines.QUERY_BYTES);
            MemoryReservationHandler atomic = new AtomicHandler(node.atomicTotal);
            poolDepth3 = depth3(query.handler(new TaskId(stage, 0, 0)));
            poolDepth5 = depth5(query.handler(new TaskId(stage, 1, 0)));
            atomicDepth3 = depth3(atomic);
            atomicDepth5 = depth5(atomic);
            for (io.trino.memory.context.LocalMemoryContext context : new io.trino.memory.context.LocalMemoryContext[] {poolDepth3, poolDepth5, atomicDepth3, atomicDepth5}) {
                context.setBytes(BASE);
            }
        }

        @TearDown
        public void tearDown()
        {
            poolDepth3.close();
            poolDepth5.close();
            atomicDepth3.close();
            atomicDepth5.close();
            node.queries.closed();
        }

        private static io.trino.memory.context.LocalMemoryContext depth3(MemoryReservationHandler handler)
        {
            AggregatedMemoryContext root = AggregatedMemoryContext.newRootAggregatedMemoryContext(handler, 1024 * 1024);
            return root.newAggregatedMemoryContext().newLocalMemoryContext(TAG);
        }

        private static io.trino.memory.context.LocalMemoryContext depth5(MemoryReservationHandler handler)
        {
            AggregatedMemoryContext task = AggregatedMemoryContext.newRootAggregatedMemoryContext(handler, 1024 * 1024);
            AggregatedMemoryContext operator = task.newAggregatedMemoryContext()
                    .newAggregatedMemoryContext()
                    .newAggregatedMemoryContext();
            return operator.newLocalMemoryContext(TAG);
        }
    }

    /**
     * The step between Trino's memory-context library and its {@code MemoryPool}, as Trino's {@code QueryContext}
     * takes it (written for this benchmark from the behaviour described in {@code research/trino-presto.md} §1.3; the
     * real query context needs a task state machine, executors and a spill tracker): under the query's monitor, check
     * the per-node user limit for a reservation, then reserve in or free from the pool under the task's id and the
     * allocation tag. It keeps the query's total in a field, which is no more work than Trino's lookup.
     */
    static final class QueryLimit
    {
        private static final ListenableFuture<Void> NOT_BLOCKED = Futures.immediateVoidFuture();

        private final MemoryPool pool;
        private final long maxUserBytes;
        private long userBytes;

        QueryLimit(MemoryPool pool, long maxUserBytes)
        {
            this.pool = pool;
            this.maxUserBytes = maxUserBytes;
        }

        synchronized ListenableFuture<Void> updateUserMemory(TaskId taskId, String tag, long delta)
        {
            if (delta >= 0) {
                if (userBytes + delta > maxUserBytes) {
                    throw new IllegalStateException("Query exceeded per-node memory limit: " + (userBytes + delta) + " > " + maxUserBytes);
                }
                ListenableFuture<Void> future = pool.reserve(taskId, tag, delta);
                userBytes += delta;
                return future;
            }
            pool.free(taskId, tag, -delta);
            userBytes += delta;
            return NOT_BLOCKED;
        }

        synchronized boolean tryUpdateUserMemory(TaskId taskId, String tag, long delta)
        {
            if (delta <= 0) {
                updateUserMemory(taskId, tag, delta);
                return true;
            }
            if (userBytes + delta > maxUserBytes || !pool.tryReserve(taskId, tag, delta)) {
                return false;
            }
            userBytes += delta;
            return true;
        }

        MemoryReservationHandler handler(TaskId taskId)
        {
            return new MemoryReservationHandler()
            {
                @Override
                public ListenableFuture<Void> reserveMemory(String allocationTag, long delta)
                {
                    return updateUserMemory(taskId, allocationTag, delta);
                }

                @Override
                public boolean tryReserveMemory(String allocationTag, long delta)
                {
                    return tryUpdateUserMemory(taskId, allocationTag, delta);
                }
            };
        }
    }

    /** The cheapest handler Trino's library can sit on: one shared counter, no per-query or per-task bookkeeping. */
    static final class AtomicHandler
            implements MemoryReservationHandler
    {
        private static final ListenableFuture<Void> NOT_BLOCKED = Futures.immediateVoidFuture();
        private final AtomicLong total;

        AtomicHandler(AtomicLong total)
        {
            this.total = total;
        }

        @Override
        public ListenableFuture<Void> reserveMemory(String allocationTag, long delta)
        {
            total.addAndGet(delta);
            return NOT_BLOCKED;
        }

        @Override
        public boolean tryReserveMemory(String allocationTag, long delta)
        {
            total.addAndGet(delta);
            return true;
        }
    }

    @Benchmark
    public ListenableFuture<Void> trinoPoolDepth3(TrinoQuery query, Steps steps)
    {
        return query.poolDepth3.setBytes(steps.nextBytes());
    }

    @Benchmark
    public ListenableFuture<Void> trinoPoolDepth5(TrinoQuery query, Steps steps)
    {
        return query.poolDepth5.setBytes(steps.nextBytes());
    }

    @Benchmark
    public ListenableFuture<Void> trinoAtomicDepth3(TrinoQuery query, Steps steps)
    {
        return query.atomicDepth3.setBytes(steps.nextBytes());
    }

    @Benchmark
    public ListenableFuture<Void> trinoAtomicDepth5(TrinoQuery query, Steps steps)
    {
        return query.atomicDepth5.setBytes(steps.nextBytes());
    }

    // ---------------------------------------------------------------- Arrow Java's allocator

    @State(Scope.Benchmark)
    public static class ArrowRoot
    {
        RootAllocator root;
        final OpenThreadStates queries = new OpenThreadStates();

        @Setup
        public void setUp()
        {
            root = new RootAllocator(Engines.POOL_BYTES);
        }

        @TearDown
        public void tearDown()
        {
            queries.awaitAllClosed();
            // close() throws if any child is still open or any byte is still accounted
            root.close();
        }
    }

    @State(Scope.Thread)
    public static class ArrowQuery
    {
        BufferAllocator depth1;
        BufferAllocator query;
        BufferAllocator task;
        BufferAllocator depth3;
        ArrowRoot arrow;

        @Setup
        public void setUp(ArrowRoot arrow)
        {
            this.arrow = arrow;
            int id = arrow.queries.opened();
            depth1 = arrow.root.newChildAllocator("flat_" + id, 0, Engines.QUERY_BYTES);
            query = arrow.root.newChildAllocator("query_" + id, 0, Engines.QUERY_BYTES);
            task = query.newChildAllocator("task_" + id, 0, Engines.QUERY_BYTES);
            depth3 = task.newChildAllocator(TAG + "_" + id, 0, Engines.QUERY_BYTES);
        }

        @TearDown
        public void tearDown()
        {
            for (BufferAllocator leaf : new BufferAllocator[] {depth1, depth3}) {
                long held = leaf.getAllocatedMemory();
                if (held != 0) {
                    leaf.releaseBytes(held);
                }
            }
            depth3.close();
            task.close();
            query.close();
            depth1.close();
            arrow.queries.closed();
        }
    }

    @Benchmark
    public boolean arrowDepth1(ArrowQuery query, Steps steps)
    {
        return arrowCall(query.depth1, steps);
    }

    @Benchmark
    public boolean arrowDepth3(ArrowQuery query, Steps steps)
    {
        return arrowCall(query.depth3, steps);
    }

    private static boolean arrowCall(BufferAllocator leaf, Steps steps)
    {
        long delta = steps.nextDelta();
        if (delta > 0) {
            return leaf.forceAllocate(delta);
        }
        leaf.releaseBytes(-delta);
        return false;
    }
}
