package io.memgov.benchmarks;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
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
 * The accounting hot path (issues #10 and #7): what one operator pays to report a changed size, in memgov and in the
 * libraries it is compared with, all in one run so that the ratios are comparable.
 *
 * <p>Every accounting benchmark moves the leaf by {@link #DELTA} (64 KB) per call, alternating up and down, so that
 * half the calls reserve and half release and nothing grows. Each benchmark thread owns its own query (its own
 * leaf, task and query levels); all threads share one pool or root, which is the contended case of two queries on
 * one node. Run at 1 and 2 threads by {@code run.sh}.
 *
 * <p>Depths count the accounting levels above the leaf, so that the columns line up across libraries:
 * <ul>
 * <li>memgov depth 3: operator context → task → query → pool ({@code fixed}), the engine's whole chain; the query
 *     step also carries the delta through the tracker's query → user → node levels. memgov has no driver or pipeline
 *     level, so depth 5 is that chain behind two host-side synchronized aggregation levels, which is what a
 *     Trino-shaped host would add to keep its driver and pipeline totals; it is not a memgov feature.</li>
 * <li>Trino depth 3: local → aggregated → root aggregated → handler; depth 5: local → three aggregated → root →
 *     handler, Trino's own operator → driver → pipeline → task → query shape. The handler is either
 *     {@link TrinoShapedPool} (QueryContext + MemoryPool bookkeeping) or a bare shared {@link AtomicLong}.</li>
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
    static final String TAG = "HashAggregation";

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

        // 0B: every change reaches the pool (Trino); 1MB: operators reserve in 1 MB quanta (Velox's smallest)
        @Param({"0B", "1MB"})
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

        @Param({"0B", "1MB"})
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
        boolean up;
        boolean trackerUp;

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
            if (trackerUp) {
                tracker.free(DELTA);
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
    public MemoryFuture memgovExactDepth3(ExactQuery query)
    {
        query.up = !query.up;
        return query.operator.setBytes(query.up ? BASE + DELTA : BASE);
    }

    @Benchmark
    public Object memgovExactDepth5(ExactQuery query)
    {
        query.up = !query.up;
        return query.driver.add(query.up ? DELTA : -DELTA);
    }

    @Benchmark
    public MemoryFuture memgovThreadBatchedDepth3(BatchedQuery query)
    {
        query.up = !query.up;
        return query.operator.setBytes(query.up ? BASE + DELTA : BASE);
    }

    /** The tracker alone (issue #7): one allocate or free of 64 KB on a query tracker (query → user → node). */
    @Benchmark
    public boolean memgovExactTrackerCall(ExactQuery query)
    {
        return trackerCall(query);
    }

    /** As {@link #memgovExactTrackerCall}, batched per thread: below 4 MB the call stays in the thread's cell. */
    @Benchmark
    public boolean memgovThreadBatchedTrackerCall(BatchedQuery query)
    {
        return trackerCall(query);
    }

    private static boolean trackerCall(MemgovQuery query)
    {
        query.trackerUp = !query.trackerUp;
        if (query.trackerUp) {
            query.tracker.allocate(DELTA);
        }
        else {
            query.tracker.free(DELTA);
        }
        return query.trackerUp;
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

    // ---------------------------------------------------------------- Trino's memory-context library

    @State(Scope.Benchmark)
    public static class TrinoNode
    {
        TrinoShapedPool pool;
        final AtomicLong atomicTotal = new AtomicLong();
        final OpenThreadStates queries = new OpenThreadStates();

        @Setup
        public void setUp()
        {
            pool = new TrinoShapedPool(Engines.POOL_BYTES);
        }

        @TearDown
        public void tearDown()
        {
            queries.awaitAllClosed();
            if (pool.reservedBytes() != 0 || atomicTotal.get() != 0) {
                throw new IllegalStateException("Trino-shaped accounting did not return to zero: pool " + pool.reservedBytes() + ", atomic " + atomicTotal.get());
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
        boolean up;

        @Setup
        public void setUp(TrinoNode node)
        {
            this.node = node;
            QueryId queryId = QueryId.of("trino_" + node.queries.opened());
            TrinoShapedPool.QueryContext query = new TrinoShapedPool.QueryContext(node.pool, queryId, Engines.QUERY_BYTES);
            MemoryReservationHandler atomic = new AtomicHandler(node.atomicTotal);
            poolDepth3 = depth3(query.handler(TaskId.of(queryId, "0")));
            poolDepth5 = depth5(query.handler(TaskId.of(queryId, "1")));
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
    public ListenableFuture<Void> trinoPoolDepth3(TrinoQuery query)
    {
        query.up = !query.up;
        return query.poolDepth3.setBytes(query.up ? BASE + DELTA : BASE);
    }

    @Benchmark
    public ListenableFuture<Void> trinoPoolDepth5(TrinoQuery query)
    {
        query.up = !query.up;
        return query.poolDepth5.setBytes(query.up ? BASE + DELTA : BASE);
    }

    @Benchmark
    public ListenableFuture<Void> trinoAtomicDepth3(TrinoQuery query)
    {
        query.up = !query.up;
        return query.atomicDepth3.setBytes(query.up ? BASE + DELTA : BASE);
    }

    @Benchmark
    public ListenableFuture<Void> trinoAtomicDepth5(TrinoQuery query)
    {
        query.up = !query.up;
        return query.atomicDepth5.setBytes(query.up ? BASE + DELTA : BASE);
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
        boolean up;

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
    public boolean arrowDepth1(ArrowQuery query)
    {
        return arrowCall(query, query.depth1);
    }

    @Benchmark
    public boolean arrowDepth3(ArrowQuery query)
    {
        return arrowCall(query, query.depth3);
    }

    private static boolean arrowCall(ArrowQuery query, BufferAllocator leaf)
    {
        query.up = !query.up;
        if (query.up) {
            return leaf.forceAllocate(DELTA);
        }
        leaf.releaseBytes(DELTA);
        return false;
    }
}
