package io.memgov.engine;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A JVM of its own for {@link HeapGovernanceChildJvmTest}: an engine governing this JVM's small heap, queries that
 * really hold the heap they account, and heap held outside memgov. Prints one {@value #RESULT} line of
 * {@code key=value} pairs and exits 0, or exits 1 with what went wrong.
 *
 * <ul>
 * <li>{@code untracked}: a spilling query and a user-memory query; then heap nobody tracks, in two steps. The first
 * shrinks the pool under what the queries hold: the spilling query is revoked. The second shrinks it under what is
 * left: the other query is killed by the cluster loop.</li>
 * <li>{@code pressure}: one query holding most of the heap, and churn: GC pressure fails it with
 * {@code EXCEEDED_HEAP_MEMORY_LIMIT}.</li>
 * </ul>
 */
public final class HeapGovernanceChild
{
    static final String RESULT = "RESULT";
    private static final int MB = 1024 * 1024;
    private static final int CHUNK = 256 * 1024;

    // what each query really holds on the heap, dropped when it is revoked or failed
    private static final Map<QueryId, List<byte[]>> HELD = new ConcurrentHashMap<>();
    private static final Map<QueryId, String> FAILURES = new ConcurrentHashMap<>();
    private static final CountDownLatch FAILED = new CountDownLatch(1);
    private static final AtomicLong MAX_AT_FAILURE = new AtomicLong(-1);

    private HeapGovernanceChild() {}

    public static void main(String[] args)
            throws Exception
    {
        switch (args[0]) {
            case "untracked" -> untracked();
            case "pressure" -> pressure();
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void untracked()
            throws Exception
    {
        try (MemoryEngine engine = engine(Map.of(
                "memory.heap-headroom-per-node", "50%",
                "query.max-memory-per-node", "40%",
                "memory.cluster.poll-interval", "50ms",
                "memory.spill-strategy.policy", "everyone",
                "query.low-memory-killer.policy", "largest"))) {
            NodeMemory node = engine.node(0);
            long pool = node.pool().maxBytes();
            CountDownLatch revoked = new CountDownLatch(1);
            QueryId spilling = QueryId.of("spilling");
            OperatorMemoryContext orderBy = node.createQuery(spilling, QuerySession.of("alice")).addTask("0").addOperator("OrderBy");
            hold(spilling, 20);
            orderBy.revocableMemory().setBytes(20L * MB);
            long[] maxAtRevoke = new long[1];
            orderBy.setRevocableConsumer(() -> {
                maxAtRevoke[0] = node.pool().maxBytes();
                // the spill: the rows leave the heap, then the reservation
                HELD.remove(spilling);
                orderBy.revocableMemory().setBytes(0);
                revoked.countDown();
                return CompletableFuture.completedFuture(null);
            });
            QueryId user = QueryId.of("user");
            OperatorMemoryContext aggregation = node.createQuery(user, QuerySession.of("bob")).addTask("0").addOperator("HashAggregation");
            hold(user, 15);
            aggregation.userMemory().setBytes(15L * MB);

            // step 1: heap nobody tracks, a little at a time, until the pool is less than the 35MB the queries hold:
            // the node revokes the spilling query
            List<byte[]> untracked = new ArrayList<>();
            boolean wasRevoked = allocateUntil(untracked, revoked, pool);
            long afterRevoke = maxAtRevoke[0];
            boolean userAliveAfterStep1 = !FAILURES.containsKey(user);

            // step 2: more of it, until the pool is under the user query's 15MB: the cluster loop kills it
            boolean wasKilled = allocateUntil(untracked, FAILED, pool);
            long afterKill = MAX_AT_FAILURE.get();
            System.out.println(RESULT + " pool=" + pool + " revoked=" + wasRevoked + " effectiveAfterRevoke=" + afterRevoke
                    + " userAliveAfterRevoke=" + userAliveAfterStep1 + " killed=" + wasKilled + " effectiveAfterKill=" + afterKill
                    + " failures=" + FAILURES.keySet() + " code=" + FAILURES.getOrDefault(user, "none").split(" ")[0]
                    + " reservedAfter=" + node.pool().reservedBytes() + " untracked=" + untracked.size() * (long) CHUNK);
        }
    }

    private static void pressure()
            throws Exception
    {
        long maxHeap = Runtime.getRuntime().maxMemory();
        try (MemoryEngine engine = engine(Map.of(
                "memory.heap-headroom-per-node", "5%",
                "query.max-memory-per-node", "90%",
                "memory.heap.gc-time-window", "3s"))) {
            NodeMemory node = engine.node(0);
            QueryId large = QueryId.of("large");
            OperatorMemoryContext aggregation = node.createQuery(large, QuerySession.of("alice")).addTask("0").addOperator("HashAggregation");
            long bytes = (long) (maxHeap * 0.88) / CHUNK * CHUNK;
            hold(large, (int) (bytes / MB));
            aggregation.userMemory().setBytes(bytes);
            QueryId small = QueryId.of("small");
            OperatorMemoryContext scan = node.createQuery(small, QuerySession.of("bob")).addTask("0").addOperator("TableScan");
            scan.userMemory().setBytes(MB);

            boolean failed = collectUntil(FAILED);
            String failure = FAILURES.getOrDefault(large, "none none");
            System.out.println(RESULT + " failed=" + failed + " victims=" + FAILURES.keySet() + " code=" + failure.substring(0, failure.indexOf(' '))
                    + " reservedAfter=" + node.pool().reservedBytes() + " heap=" + engine.heapSnapshot().gcPressure().replace(' ', '_')
                    + " message=" + failure.substring(failure.indexOf(' ') + 1));
        }
    }

    private static MemoryEngine engine(Map<String, String> properties)
    {
        MemoryEngine engine = MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .plugin(POLICIES)
                .properties(properties)
                .build();
        engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> {
            // the host drops the failed query's rows, as an engine would
            MAX_AT_FAILURE.compareAndSet(-1, engine.node(0).pool().maxBytes());
            HELD.remove(queryId);
            FAILURES.putIfAbsent(queryId, errorCode + " " + message);
            FAILED.countDown();
        });
        return engine;
    }

    private static void hold(QueryId queryId, int megabytes)
    {
        List<byte[]> rows = new ArrayList<>();
        allocate(rows, (long) megabytes * MB);
        HELD.put(queryId, rows);
    }

    private static void allocate(List<byte[]> into, long bytes)
    {
        for (long done = 0; done < bytes; done += CHUNK) {
            into.add(new byte[CHUNK]);
        }
    }

    /** Allocates heap outside memgov 2MB at a time, collecting after each, until the latch opens or {@code limit} is held. */
    private static boolean allocateUntil(List<byte[]> into, CountDownLatch latch, long limit)
            throws InterruptedException
    {
        long held = (long) into.size() * CHUNK;
        while (held < limit) {
            allocate(into, 2L * MB);
            held += 2L * MB;
            System.gc();
            if (latch.await(200, TimeUnit.MILLISECONDS)) {
                return true;
            }
        }
        return false;
    }

    /** Collects garbage (each collection reaches the engine's heap observer) and churns, until the latch opens or 30 s pass. */
    private static boolean collectUntil(CountDownLatch latch)
            throws InterruptedException
    {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            System.gc();
            // garbage for young collections between the full ones
            for (int i = 0; i < 32; i++) {
                byte[] garbage = new byte[64 * 1024];
                garbage[i] = 1;
            }
            if (latch.await(100, TimeUnit.MILLISECONDS)) {
                return true;
            }
        }
        return false;
    }

    private static final MemoryPlugin POLICIES = new MemoryPlugin()
    {
        @Override
        public List<SpillStrategyFactory> spillStrategyFactories()
        {
            return List.of(new SpillStrategyFactory()
            {
                @Override
                public String name()
                {
                    return "everyone";
                }

                @Override
                public SpillStrategy create(PolicyConfig config, SpillStrategyContext context)
                {
                    return (pool, consumers, bytesToRevoke) -> consumers.stream()
                            .map(consumer -> new RevokeRequest(consumer.consumerId(), consumer.revocableBytes()))
                            .toList();
                }
            });
        }

        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            return List.of(new LowMemoryKillerFactory()
            {
                @Override
                public String name()
                {
                    return "largest";
                }

                @Override
                public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                {
                    return (running, nodes) -> running.stream()
                            .filter(query -> query.totalReservationBytes() > 0)
                            .max(Comparator.comparingLong(RunningQueryInfo::totalReservationBytes))
                            .map(query -> KillTarget.wholeQuery(query.queryId()));
                }
            });
        }
    };
}
