package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Presto's RESERVED pool (policy {@code reserved-pool}, discovered from its jar on the class path) on a two-node
 * embedded cluster. Each node: 16MB of pool (20MB heap, 4MB headroom), RESERVED 6MB
 * ({@code query.max-total-memory-per-node}), GENERAL the other 10MB. The loop runs when a test calls process().
 */
final class ReservedPoolTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;

    private static MemoryEngine.Builder cluster()
    {
        return MemoryEngine.builder()
                .property("cluster.node-count", "2")
                .property("node.heap-size", "20MB")
                .property("memory.heap-headroom-per-node", "4MB")
                .property("query.max-memory-per-node", "6MB")
                .property("query.max-total-memory-per-node", "6MB")
                .property("memory.pool.policy", "reserved-pool")
                .property("memory.cluster.poll-interval", "1h");
    }

    /** A query with one operator on each node, whose pending futures a worker thread waits on. */
    private static final class Query
    {
        final QueryId queryId;
        final QueryMemoryContext[] contexts = new QueryMemoryContext[2];
        final OperatorMemoryContext[] operators = new OperatorMemoryContext[2];
        final MemoryFuture[] blocked = new MemoryFuture[2];

        Query(MemoryEngine engine, String id)
        {
            queryId = QueryId.of(id);
            for (int node = 0; node < 2; node++) {
                contexts[node] = engine.node(node).createQuery(queryId, QuerySession.of(id));
                operators[node] = contexts[node].addTask("0." + node).addOperator("HashAggregation");
            }
        }

        /** Sets the bytes on both nodes; keeps each node's future. */
        Query set(long bytes)
        {
            for (int node = 0; node < 2; node++) {
                blocked[node] = operators[node].userMemory().setBytes(bytes);
            }
            return this;
        }

        boolean isBlocked()
        {
            return !blocked[0].isDone() || !blocked[1].isDone();
        }
    }

    /** A driver thread: waits until the query may run on both nodes, then runs {@code work}, then ends the query. */
    private static Thread worker(MemoryEngine engine, Query query, List<String> events, CountDownLatch woken, CountDownLatch mayFinish, long finalBytes)
    {
        Thread thread = new Thread(() -> {
            query.blocked[0].join();
            query.blocked[1].join();
            events.add(query.queryId + " woken");
            woken.countDown();
            try {
                if (!mayFinish.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("test did not let " + query.queryId + " finish");
                }
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (int node = 0; node < 2; node++) {
                // the rest of the query's work: it grows once more, then ends
                assertThat(query.operators[node].userMemory().setBytes(finalBytes)).isDone();
                query.contexts[node].close(QueryState.FINISHED);
            }
            events.add(query.queryId + " finished");
        }, "driver-" + query.queryId);
        thread.start();
        return thread;
    }

    private static MemoryPool reserved(NodeMemory node)
    {
        return node.pool("reserved").orElseThrow();
    }

    @Test
    void promotesTheLargestQueryWhichFinishesWhileTheOthersStayBlockedAndThenTheyFinish()
            throws Exception
    {
        try (MemoryEngine engine = cluster().property("query.low-memory-killer.policy", "none").build()) {
            assertThat(engine.node(0).pools()).extracting(MemoryPool::id).containsExactly("general", "reserved");
            assertThat(engine.node(0).pool().maxBytes()).isEqualTo(10 * MB);
            assertThat(reserved(engine.node(0)).maxBytes()).isEqualTo(6 * MB);

            // GENERAL fills on both nodes: big 5MB, a 4MB, b and c 3.5MB each, 16MB of 10MB, everyone past the 1MB guarantee waits
            Query big = new Query(engine, "big").set(4 * MB);
            Query a = new Query(engine, "a").set(3584 * KB);
            Query b = new Query(engine, "b").set(3584 * KB);
            Query c = new Query(engine, "c").set(3584 * KB);
            big.set(5 * MB);
            a.set(4 * MB);
            assertThat(List.of(big, a, b, c)).allSatisfy(query -> assertThat(query.isBlocked()).isTrue());

            List<String> events = new CopyOnWriteArrayList<>();
            CountDownLatch bigWoken = new CountDownLatch(1);
            CountDownLatch bigMayFinish = new CountDownLatch(1);
            CountDownLatch othersWoken = new CountDownLatch(3);
            CountDownLatch othersMayFinish = new CountDownLatch(0);
            Thread bigDriver = worker(engine, big, events, bigWoken, bigMayFinish, 5632 * KB);
            List<Thread> otherDrivers = List.of(
                    worker(engine, a, events, othersWoken, othersMayFinish, 4 * MB),
                    worker(engine, b, events, othersWoken, othersMayFinish, 3584 * KB),
                    worker(engine, c, events, othersWoken, othersMayFinish, 3584 * KB));

            engine.cluster().process();

            // the largest query (10MB cluster-wide) moved to RESERVED on both nodes and its drivers were woken
            assertThat(bigWoken.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(engine.cluster().assignment()).isEqualTo(new MemoryPoolAssignment(1, Map.of(big.queryId, "reserved")));
            assertThat(engine.cluster().assignedQueries("reserved")).isEqualTo(1);
            for (NodeMemory node : engine.nodes()) {
                assertThat(node.snapshot().assignmentVersion()).isEqualTo(1);
                assertThat(reserved(node).info().queryMemoryReservations()).isEqualTo(Map.of(big.queryId, 5 * MB));
                assertThat(node.pool().queryReservedBytes(big.queryId)).isZero();
                // GENERAL keeps 11MB of 10MB: still blocked
                assertThat(node.pool().reservedBytes()).isEqualTo(11 * MB);
            }
            assertThat(List.of(a, b, c)).allSatisfy(query -> assertThat(query.isBlocked()).isTrue());

            bigMayFinish.countDown();
            bigDriver.join(10_000);
            assertThat(events).containsExactly("big woken", "big finished");
            assertThat(List.of(a, b, c)).allSatisfy(query -> assertThat(query.isBlocked()).isTrue());
            for (NodeMemory node : engine.nodes()) {
                assertThat(reserved(node).info()).isEqualTo(MemoryPoolInfo.empty("reserved", 6 * MB));
            }

            // RESERVED is empty again and GENERAL still blocked: the next largest (a, 8MB) is promoted, which frees
            // enough of GENERAL for b and c
            engine.cluster().process();
            assertThat(othersWoken.await(10, TimeUnit.SECONDS)).isTrue();
            for (Thread driver : otherDrivers) {
                driver.join(10_000);
            }
            assertThat(engine.cluster().assignment()).isEqualTo(new MemoryPoolAssignment(2, Map.of(a.queryId, "reserved")));
            assertThat(events).hasSize(8).containsSubsequence("big woken", "big finished", "a finished")
                    .contains("b finished", "c finished");
            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isZero();
            for (NodeMemory node : engine.nodes()) {
                for (MemoryPool pool : node.pools()) {
                    assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
                }
            }
            engine.cluster().process();
            assertThat(engine.cluster().assignment().placements()).isEmpty();
        }
    }

    @Test
    void isOutOfMemoryOnlyWhenReservedHoldsAQueryAndGeneralIsBlockedAndTheKillerSeesGeneralOnly()
    {
        List<List<NodeMemoryInfo>> nodesSeen = new CopyOnWriteArrayList<>();
        List<List<QueryId>> queriesSeen = new CopyOnWriteArrayList<>();
        MemoryPlugin recording = new MemoryPlugin()
        {
            @Override
            public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
            {
                return List.of(new LowMemoryKillerFactory()
                {
                    @Override
                    public String name()
                    {
                        return "recording-total-reservation";
                    }

                    @Override
                    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                    {
                        return (queries, nodes) -> {
                            nodesSeen.add(nodes);
                            queriesSeen.add(queries.stream().map(RunningQueryInfo::queryId).sorted().toList());
                            // Trino's total-reservation rule over what it is shown
                            return queries.stream()
                                    .filter(query -> query.totalReservationBytes() > 0)
                                    .max(java.util.Comparator.comparingLong(RunningQueryInfo::totalReservationBytes))
                                    .map(query -> KillTarget.wholeQuery(query.queryId()));
                        };
                    }
                });
            }
        };
        try (MemoryEngine engine = cluster().plugin(recording).property("query.low-memory-killer.policy", "recording-total-reservation").build()) {
            Query big = new Query(engine, "big").set(4 * MB);
            Query a = new Query(engine, "a").set(3584 * KB);
            Query b = new Query(engine, "b").set(3584 * KB);
            Query c = new Query(engine, "c").set(3584 * KB);
            big.set(5 * MB);
            a.set(4 * MB);

            // GENERAL blocked but RESERVED empty: not out of memory, the cure is a promotion
            engine.cluster().process();
            assertThat(nodesSeen).isEmpty();
            assertThat(engine.cluster().assignment().placements()).isEqualTo(Map.of(big.queryId, "reserved"));

            // RESERVED holds big and GENERAL is still blocked: out of memory, and the killer is shown GENERAL only
            engine.cluster().process();
            assertThat(nodesSeen).hasSize(1);
            assertThat(nodesSeen.get(0)).allSatisfy(node -> {
                assertThat(node.pools()).extracting(MemoryPoolInfo::poolId).containsExactly("general");
                assertThat(node.generalPool().queryMemoryReservations()).doesNotContainKey(big.queryId);
            });
            assertThat(queriesSeen.get(0)).containsExactly(QueryId.of("a"), QueryId.of("b"), QueryId.of("c"));
            // big is the largest query of the cluster (10MB), but a (8MB) is the largest the killer sees
            assertThat(a.contexts[0].failure()).hasValueSatisfying(failure -> assertThat(failure.errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY));
            assertThat(big.contexts[0].failure()).isEmpty();
            assertThat(b.isBlocked()).isFalse();
            assertThat(c.isBlocked()).isFalse();

            // RESERVED still holds big, but GENERAL has room now (7MB of 10MB): not out of memory, nobody else is killed
            for (QueryMemoryContext context : a.contexts) {
                context.close(QueryState.FAILED);
            }
            engine.cluster().process();
            assertThat(nodesSeen).hasSize(1);
            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isEqualTo(1);
            assertThat(big.isBlocked()).isFalse();
            // held to the end: their operators' bytes are part of GENERAL in every round above
            Reference.reachabilityFence(b);
            Reference.reachabilityFence(c);
        }
    }

    @Test
    void aNodeIgnoresAStaleAssignmentVersion()
    {
        try (MemoryEngine engine = cluster().property("query.low-memory-killer.policy", "none").build()) {
            Query big = new Query(engine, "big").set(4 * MB);
            Query a = new Query(engine, "a").set(3584 * KB);
            // kept: its operators' bytes help block GENERAL, and a dropped handle is released by the cleaner when a GC runs
            Query b = new Query(engine, "b").set(3584 * KB);
            big.set(5 * MB);
            engine.cluster().process();
            NodeMemory node = engine.node(1);
            assertThat(node.snapshot().assignmentVersion()).isEqualTo(1);

            // a delivery of version 1 that arrives late, after version 1 moved big: it must not undo anything, nor move a
            assertThat(((NodeMemoryManager) node).applyAssignment(new MemoryPoolAssignment(1, Map.of(a.queryId, "reserved")))).isFalse();
            assertThat(((NodeMemoryManager) node).applyAssignment(new MemoryPoolAssignment(0, Map.of()))).isFalse();
            assertThat(big.contexts[1].pool().id()).isEqualTo("reserved");
            assertThat(a.contexts[1].pool().id()).isEqualTo("general");
            assertThat(reserved(node).info().queryMemoryReservations()).isEqualTo(Map.of(big.queryId, 5 * MB));
            Reference.reachabilityFence(b);
        }
    }

    @Test
    void refusesToStartWithoutTheReservedSize()
    {
        assertThatThrownBy(() -> MemoryEngine.builder()
                .property("node.heap-size", "20MB")
                .property("memory.pool.policy", "reserved-pool")
                .build())
                .hasMessageContaining("Memory pool 'reserved-pool' sizes its RESERVED pool with 'query.max-total-memory-per-node', which is not set");
    }

    @Test
    void refusesAReservedSizeThatLeavesNoGeneralPool()
    {
        assertThatThrownBy(() -> cluster().property("memory.heap-headroom-per-node", "14MB").build())
                .hasMessageContaining("Memory pool 'reserved-pool' leaves no GENERAL pool on node node-0: 'query.max-total-memory-per-node' (6MB) must be smaller than the heap minus 'memory.heap-headroom-per-node' (6MB)");
    }

    @Test
    void rejectsKeysOfItsOwn()
    {
        assertThatThrownBy(() -> cluster().property("memory.pool.reserved-pool.size", "1GB").build())
                .hasMessageContaining("Unknown configuration key 'memory.pool.reserved-pool.size' (value '1GB')");
    }
}
