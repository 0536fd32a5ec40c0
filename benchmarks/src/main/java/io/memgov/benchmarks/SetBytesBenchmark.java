package io.memgov.benchmarks;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.node.LocalMemoryContext;
import io.memgov.engine.node.QuerySession;
import io.memgov.spi.QueryId;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The hot path: an operator reporting a new size with {@code setBytes} on an operator context at depth 3
 * (operator, task, query, pool), alternating between two sizes, against {@code AtomicLong.addAndGet} measured in the
 * same run. Each benchmark thread owns a distinct query; all share one pool (the 2-thread case).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SetBytesBenchmark
{
    @State(Scope.Benchmark)
    public static class Engine
    {
        MemoryEngine engine;
        final AtomicInteger queries = new AtomicInteger();
        final AtomicLong counter = new AtomicLong();

        @Setup
        public void setUp()
        {
            engine = MemoryEngine.builder()
                    .property("node.heap-size", "16GB")
                    .property("memory.heap-headroom-per-node", "1GB")
                    .property("query.max-memory-per-node", "8GB")
                    .property("memory.cluster.poll-interval", "1h")
                    .build();
        }

        @TearDown
        public void tearDown()
        {
            engine.close();
        }
    }

    @State(Scope.Thread)
    public static class Operator
    {
        LocalMemoryContext memory;
        boolean large;

        @Setup(Level.Trial)
        public void setUp(Engine engine)
        {
            QueryId queryId = QueryId.of("q" + engine.queries.incrementAndGet());
            memory = engine.engine.node(0).createQuery(queryId, QuerySession.of("bench"))
                    .addTask("0")
                    .addOperator("HashAggregation")
                    .userMemory();
        }
    }

    @Benchmark
    public Object exactSetBytesDepth3(Operator operator)
    {
        operator.large = !operator.large;
        return operator.memory.setBytes(operator.large ? 2 * 1024 * 1024 : 1024 * 1024);
    }

    @Benchmark
    public long atomicLongAddAndGet(Engine engine)
    {
        return engine.counter.addAndGet(1);
    }
}
