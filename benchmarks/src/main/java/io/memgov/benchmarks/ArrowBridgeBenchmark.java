package io.memgov.benchmarks;

import io.memgov.arrow.ArrowNodeMemory;
import io.memgov.arrow.ArrowOperatorMemory;
import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.memory.unsafe.UnsafeAllocationManager;
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

/**
 * Issue #20: what governing Arrow Java's allocator costs. One operation is {@code buffer(64 KB)} and its
 * {@code close()} on an operator's allocator, through memgov's bridge (adapter-arrow: the listener reserves in the
 * operator's user memory before Arrow counts, and frees after) or on a plain child of a {@link RootAllocator}. Both
 * use the same allocation manager ({@link UnsafeAllocationManager}), so the ratio is the bridge's own cost.
 *
 * <p>Every thread owns its operator (its own query on the node) and holds a 4 MB buffer throughout, above memgov's
 * 1 MB task guarantee, so that each reservation takes the pool's full path; all threads share one pool and one
 * root. Run at 1 and 2 threads by {@code run.sh}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "--add-opens=java.base/java.nio=ALL-UNNAMED"})
public class ArrowBridgeBenchmark
{
    static final long SIZE = 64 * 1024;
    static final long HELD = 4 * 1024 * 1024;

    // ---------------------------------------------------------------- plain Arrow

    @State(Scope.Benchmark)
    public static class PlainRoot
    {
        RootAllocator root;
        final OpenThreadStates operators = new OpenThreadStates();

        @Setup
        public void setUp()
        {
            root = new RootAllocator(RootAllocator.configBuilder()
                    .allocationManagerFactory(UnsafeAllocationManager.FACTORY)
                    .maxAllocation(Engines.POOL_BYTES)
                    .build());
        }

        @TearDown
        public void tearDown()
        {
            operators.awaitAllClosed();
            // throws if anything is still allocated or a child is still open
            root.close();
        }
    }

    @State(Scope.Thread)
    public static class PlainOperator
    {
        PlainRoot root;
        BufferAllocator allocator;
        ArrowBuf held;

        @Setup
        public void setUp(PlainRoot root)
        {
            this.root = root;
            allocator = root.root.newChildAllocator("operator_" + root.operators.opened(), 0, Engines.QUERY_BYTES);
            held = allocator.buffer(HELD);
        }

        @TearDown
        public void tearDown()
        {
            held.close();
            allocator.close();
            root.operators.closed();
        }
    }

    @Benchmark
    public long plainArrow(PlainOperator operator)
    {
        ArrowBuf buffer = operator.allocator.buffer(SIZE);
        buffer.close();
        return buffer.capacity();
    }

    // ---------------------------------------------------------------- through memgov's bridge

    @State(Scope.Benchmark)
    public static class BridgeNode
    {
        final Engines.Shared shared = new Engines.Shared();
        ArrowNodeMemory arrow;

        // 0B: every change reaches the pool (the default); 1MB: operators reserve in 1 MB quanta
        @Param({"0B", "1MB"})
        public String reservationQuantum;

        @Setup
        public void setUp()
        {
            shared.start(Map.of("memory.reservation-quantum", reservationQuantum));
            arrow = ArrowNodeMemory.builder(shared.node())
                    .allocationManagerFactory(UnsafeAllocationManager.FACTORY)
                    .build();
        }

        @TearDown
        public void tearDown()
        {
            try {
                // JMH may tear this down before another thread closed its operator: closing the Arrow memory first
                // would close that operator's allocator while it still held its buffer, and report it as leaked
                shared.awaitQueriesClosed();
                arrow.close();
                if (arrow.leakCount() != 0 || arrow.allocatedBytes() != 0) {
                    throw new IllegalStateException("Arrow memory not given back: " + arrow.toVerboseString());
                }
            }
            finally {
                // checks that the pool is back to zero once every thread closed its query
                shared.stop();
            }
        }
    }

    @State(Scope.Thread)
    public static class BridgeOperator
    {
        BridgeNode node;
        QueryMemoryContext query;
        ArrowOperatorMemory memory;
        BufferAllocator allocator;
        ArrowBuf held;

        @Setup
        public void setUp(BridgeNode node)
        {
            this.node = node;
            query = node.shared.newQuery();
            memory = node.arrow.operator(query.addTask("0").addOperator("HashAggregation"));
            allocator = memory.newAllocator("build");
            held = allocator.buffer(HELD);
        }

        @TearDown
        public void tearDown()
        {
            held.close();
            memory.close();
            query.close();
            node.shared.queryClosed();
        }
    }

    @Benchmark
    public long bridge(BridgeOperator operator)
    {
        ArrowBuf buffer = operator.allocator.buffer(SIZE);
        buffer.close();
        return buffer.capacity();
    }

    /**
     * The bridge's own cost: the same listener over a context that only stores the number it is set to, so that
     * {@code bridgeOverBareContext - plainArrow} is the adapter and {@code bridge - bridgeOverBareContext} the engine.
     */
    @Benchmark
    public long bridgeOverBareContext(BareOperator operator)
    {
        ArrowBuf buffer = operator.allocator.buffer(SIZE);
        buffer.close();
        return buffer.capacity();
    }

    @State(Scope.Thread)
    public static class BareOperator
    {
        BridgeOperator operator = new BridgeOperator();
        BufferAllocator allocator;
        ArrowBuf held;

        @Setup
        public void setUp(BridgeNode node)
        {
            operator.setUp(node);
            allocator = operator.memory.newAllocator("bare", ignored -> new BareContext());
            held = allocator.buffer(HELD);
        }

        @TearDown
        public void tearDown()
        {
            held.close();
            operator.tearDown();
        }
    }

    /** A memory context that records the bytes and reaches nothing above it. */
    static final class BareContext
            implements LocalMemoryContext
    {
        private volatile long bytes;

        @Override
        public long bytes()
        {
            return bytes;
        }

        @Override
        public long reservedBytes()
        {
            return bytes;
        }

        @Override
        public synchronized MemoryFuture setBytes(long bytes)
        {
            this.bytes = bytes;
            return MemoryFuture.NOT_BLOCKED;
        }

        @Override
        public synchronized boolean trySetBytes(long bytes)
        {
            this.bytes = bytes;
            return true;
        }

        @Override
        public void close()
        {
            bytes = 0;
        }
    }
}
