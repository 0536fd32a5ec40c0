package io.memgov.benchmarks;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.TaskId;
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
 * What a reservation costs through the {@code reserve-mode} pool against the {@code fixed} pool it decorates
 * (issue #6), in the same run. Two paths: the engine's {@code setBytes} at depth 3 (operator → task → query → pool),
 * and the pool alone, one {@code reserve} and one {@code free} of 64 KB per call.
 *
 * <p>Reserve mode reads available memory from the JVM heap ({@code source=heap}, checked every 10 ms off the hot
 * path), keeps a 64 MB reserve, and is told to fail start-up rather than stand down to the plain pool
 * ({@code fail-if-unavailable=true}); the benchmark heap (2 GB) is ample, so no request is refused. The setup also
 * checks that the node really got the reserve-mode pool.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class ReservationBenchmark
{
    private static final long DELTA = HotPathBenchmark.DELTA;
    private static final long BASE = HotPathBenchmark.BASE;

    @State(Scope.Benchmark)
    public static class Node
    {
        @Param({"fixed", "reserve-mode"})
        public String pool;

        final Engines.Shared shared = new Engines.Shared();

        @Setup
        public void setUp()
        {
            if (pool.equals("reserve-mode")) {
                shared.start(Map.of(
                        "memory.pool.policy", "reserve-mode",
                        "memory.pool.reserve-mode.source", "heap",
                        "memory.pool.reserve-mode.min-reserved-memory", "64MB",
                        "memory.pool.reserve-mode.fail-if-unavailable", "true"));
            }
            else {
                shared.start(Map.of("memory.pool.policy", pool));
            }
            String implementation = shared.node().pool().getClass().getSimpleName();
            boolean expected = pool.equals("reserve-mode") ? implementation.equals("ReserveModeMemoryPool") : implementation.equals("FixedMemoryPool");
            if (!expected) {
                throw new IllegalStateException("pool policy '" + pool + "' gave " + implementation);
            }
        }

        @TearDown
        public void tearDown()
        {
            shared.stop();
        }
    }

    @State(Scope.Thread)
    public static class Query
    {
        QueryMemoryContext query;
        LocalMemoryContext operator;
        TaskId taskId;
        MemoryPool pool;
        Engines.Shared shared;
        boolean up;

        @Setup
        public void setUp(Node node)
        {
            shared = node.shared;
            query = node.shared.newQuery();
            operator = query.addTask("0").addOperator(HotPathBenchmark.TAG).userMemory();
            operator.setBytes(BASE);
            // the pool-only path books under a task of its own, as the engine would for a second task
            taskId = TaskId.of(query.queryId(), "pool");
            pool = node.shared.node().pool();
        }

        @TearDown
        public void tearDown()
        {
            query.close();
            shared.queryClosed();
        }
    }

    @Benchmark
    public MemoryFuture setBytesDepth3(Query query)
    {
        query.up = !query.up;
        return query.operator.setBytes(query.up ? BASE + DELTA : BASE);
    }

    @Benchmark
    public MemoryFuture poolReserveAndFree(Query query)
    {
        MemoryFuture future = query.pool.reserve(query.taskId, HotPathBenchmark.TAG, DELTA);
        query.pool.free(query.taskId, HotPathBenchmark.TAG, DELTA);
        return future;
    }
}
