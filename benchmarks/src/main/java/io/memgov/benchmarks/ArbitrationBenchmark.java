package io.memgov.benchmarks;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.spill.RevocableConsumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Time to relief (issue #19): from a reservation that leaves the node's pool without room to the moment its future
 * completes. {@code scenario=spill}: another query holds 56 of the 64MB as revocable memory and spills when asked, on a
 * thread of its own as an operator's driver would. With {@code arbitrator=spill-first} the node's arbitrator asks it
 * at once (the revoking scheduler is off); with {@code arbitrator=none}, Trino's path, the revoking scheduler's pool
 * listener does (spill strategy {@code threshold}). {@code scenario=kill}: the other query holds user memory, which
 * nothing can spill: {@code spill-first} kills it at once; with {@code none} the cluster loop's killer does, at its
 * next round (poll interval 1s, the default). Sampled: the score's percentiles are the relief times.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class ArbitrationBenchmark
{
    private static final long MB = 1024 * 1024;

    @Param({"none", "spill-first"})
    public String arbitrator;

    @Param({"spill", "kill"})
    public String scenario;

    private int holders;

    private MemoryEngine engine;
    private ExecutorService spiller;
    private QueryMemoryContext holderQuery;
    private QueryMemoryContext requesterQuery;
    private OperatorMemoryContext holder;
    private OperatorMemoryContext requester;

    @Setup(Level.Trial)
    public void start()
    {
        boolean arbitrated = !arbitrator.equals("none");
        engine = MemoryEngine.builder()
                .property("node.heap-size", "64MB")
                .property("node.heap-governed", "false")
                .property("memory.heap-headroom-per-node", "0B")
                .property("query.max-memory-per-node", "64MB")
                .property("memory.cluster.poll-interval", scenario.equals("kill") ? "1s" : "1h")
                .property("memory.arbitrator.policy", arbitrator)
                .property("memory.spill-strategy.policy", arbitrated ? "none" : "threshold")
                .withoutJmx()
                .build();
        spiller = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "spiller");
            thread.setDaemon(true);
            return thread;
        });
        newHolder();
        requesterQuery = engine.node(0).createQuery(QueryId.of("requester"), QuerySession.of("bench"));
        requester = requesterQuery.addTask("0").addOperator("HashBuilder");
    }

    private void newHolder()
    {
        holderQuery = engine.node(0).createQuery(QueryId.of("holder-" + holders++), QuerySession.of("bench"));
        holder = holderQuery.addTask("0").addOperator("HashAggregation");
        OperatorMemoryContext spilling = holder;
        holder.setRevocableConsumer(new RevocableConsumer()
        {
            @Override
            public CompletableFuture<?> startMemoryRevoke()
            {
                return CompletableFuture.runAsync(() -> spilling.revocableMemory().setBytes(0), spiller);
            }

            @Override
            public void finishMemoryRevoke() {}
        });
    }

    /**
     * The holder fills 56 of 64MB again (under the scheduler's 0.9 threshold), once its last revoke is over; in the kill
     * scenario a new holder replaces the one killed, once the node has forgotten it.
     */
    @Setup(Level.Invocation)
    public void fill()
    {
        if (scenario.equals("kill")) {
            if (holderQuery.failure().isPresent()) {
                holderQuery.close(QueryState.FAILED);
                newHolder();
            }
            holder.userMemory().setBytes(56 * MB);
            return;
        }
        while (holder.isMemoryRevokingRequested()) {
            Thread.onSpinWait();
        }
        holder.revocableMemory().setBytes(56 * MB);
    }

    @Benchmark
    public void relief()
            throws Exception
    {
        MemoryFuture future = requester.userMemory().setBytes(16 * MB);
        future.get(10, TimeUnit.SECONDS);
    }

    @TearDown(Level.Invocation)
    public void release()
    {
        requester.userMemory().setBytes(0);
    }

    @TearDown(Level.Trial)
    public void stop()
    {
        holderQuery.close(holderQuery.failure().isPresent() ? QueryState.FAILED : QueryState.FINISHED);
        requesterQuery.close(QueryState.FINISHED);
        spiller.shutdownNow();
        engine.close();
    }
}
