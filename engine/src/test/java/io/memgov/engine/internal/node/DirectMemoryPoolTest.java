package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.NodeMemorySnapshot;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A node's direct pool ({@code node.direct-memory-size}): operators' direct memory is reserved there, apart from the
 * heap pool, against {@code query.max-direct-memory-per-node}; it blocks and unblocks like any pool, a kill releases
 * both kinds, and the node's snapshots, JMX and blocked state show it. Real engines, real threads.
 */
final class DirectMemoryPoolTest
{
    private static final long MB = 1024 * 1024;
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    // heap pool 10MB (20MB heap, 10MB headroom); direct pool 8MB; exact figures
    private static MemoryEngine engine(Map<String, String> extra)
    {
        Map<String, String> properties = new HashMap<>(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB",
                "node.direct-memory-size", "8MB",
                "memory.cluster.poll-interval", "1h",
                "memory.reservation-quantum", "0B"));
        properties.putAll(extra);
        return MemoryEngine.builder().withoutClassPathDiscovery().withoutJmx().properties(properties).build();
    }

    @Test
    void directMemoryIsReservedInTheDirectPoolAndCountsTowardNoneOfTheHeapsFigures()
    {
        try (MemoryEngine engine = engine(Map.of())) {
            NodeMemory node = engine.node(0);
            MemoryPool direct = node.directPool().orElseThrow();
            QueryContext query = (QueryContext) node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("ArrowScan");

            assertThat(operator.directMemory().setBytes(3 * MB)).isDone();
            assertThat(operator.userMemory().setBytes(MB)).isDone();

            assertThat(direct.maxBytes()).isEqualTo(8 * MB);
            assertThat(direct.reservedBytes()).isEqualTo(3 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(MB);
            assertThat(query.directBytes()).isEqualTo(3 * MB);
            assertThat(query.userBytes()).isEqualTo(MB);
            assertThat(query.maxDirectBytes()).isEqualTo(8 * MB);
            assertThat(operator.directMemory()).isSameAs(operator.directMemory());

            NodeMemoryInfo info = node.info();
            assertThat(info.pools()).extracting(MemoryPoolInfo::poolId).containsExactly("general", "direct");
            assertThat(info.pools()).extracting(MemoryPoolInfo::kind).containsExactly(MemoryPoolKind.HEAP, MemoryPoolKind.DIRECT);
            MemoryPoolInfo directInfo = info.directPool().orElseThrow();
            assertThat(directInfo.queryReservedBytes(QueryId.of("q1"))).isEqualTo(3 * MB);
            assertThat(directInfo.queryMemoryAllocations().get(QueryId.of("q1"))).singleElement()
                    .satisfies(allocation -> assertThat(allocation.tag()).isEqualTo("ArrowScan"));
            assertThat(node.snapshot().pools()).isEqualTo(info.pools());

            operator.close();
            assertThat(direct.reservedBytes()).isZero();
            assertThat(query.directBytes()).isZero();
        }
    }

    @Test
    void withoutADirectPoolDirectMemoryIsUserMemoryInTheHeapPoolAsBefore()
    {
        try (MemoryEngine engine = engine(Map.of("node.direct-memory-size", "0B"))) {
            NodeMemory node = engine.node(0);
            QueryContext query = (QueryContext) node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("ArrowScan");

            operator.directMemory().setBytes(3 * MB);
            operator.userMemory().setBytes(MB);

            assertThat(node.directPool()).isEmpty();
            assertThat(node.info().directPool()).isEmpty();
            assertThat(node.info().pools()).singleElement().satisfies(pool -> assertThat(pool.kind()).isEqualTo(MemoryPoolKind.HEAP));
            assertThat(node.pool().reservedBytes()).isEqualTo(4 * MB);
            assertThat(query.userBytes()).isEqualTo(4 * MB);
            assertThat(query.directBytes()).isZero();
            // two contexts: neither overwrites the other
            assertThat(operator.directMemory().bytes()).isEqualTo(3 * MB);
            assertThat(operator.userMemory().bytes()).isEqualTo(MB);
        }
    }

    @Test
    @Timeout(10)
    void aFullDirectPoolBlocksTheReservingThreadUntilDirectMemoryIsFreedAndLeavesTheHeapPoolFree()
            throws Exception
    {
        try (MemoryEngine engine = engine(Map.of())) {
            NodeMemory node = engine.node(0);
            TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            OperatorMemoryContext holder = task.addOperator("ArrowBuild");
            // another query: by default one query may fill the direct pool, not pass it
            OperatorMemoryContext waiter = node.createQuery(QueryId.of("q2"), QuerySession.of("bob")).addTask("0").addOperator("ArrowProbe");
            assertThat(holder.directMemory().setBytes(7 * MB)).isDone();

            ExecutorService executor = Executors.newSingleThreadExecutor();
            try {
                CountDownLatch blocked = new CountDownLatch(1);
                Future<?> waiting = executor.submit(() -> {
                    MemoryFuture future = waiter.directMemory().setBytes(2 * MB);
                    assertThat(future).isNotDone();
                    blocked.countDown();
                    future.join();
                    return null;
                });
                if (!blocked.await(5, TimeUnit.SECONDS)) {
                    // the waiting thread failed before it blocked: its failure says why
                    waiting.get(1, TimeUnit.SECONDS);
                }
                assertThat(blocked.getCount()).isZero();
                MemoryPool direct = node.directPool().orElseThrow();
                assertThat(direct.freeBytes()).isEqualTo(-MB);
                assertThat(node.info().isBlocked()).isTrue();
                assertThat(node.info().blockedPools()).extracting(MemoryPoolInfo::poolId).containsExactly("direct");
                // the heap pool is another budget: a heap reservation does not wait
                assertThat(task.addOperator("HashAggregation").userMemory().setBytes(5 * MB)).isDone();

                holder.directMemory().setBytes(5 * MB);

                waiting.get(5, TimeUnit.SECONDS);
                assertThat(direct.reservedBytes()).isEqualTo(7 * MB);
                assertThat(node.info().isBlocked()).isFalse();
            }
            finally {
                executor.shutdownNow();
            }
        }
    }

    @Test
    void thePerQueryDirectLimitRefusesWithItsOwnCodeAndChangesNothing()
    {
        try (MemoryEngine engine = engine(Map.of("query.max-direct-memory-per-node", "4MB"))) {
            NodeMemory node = engine.node(0);
            QueryContext query = (QueryContext) node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext build = task.addOperator("ArrowBuild");
            OperatorMemoryContext probe = task.addOperator("ArrowProbe");
            build.directMemory().setBytes(3 * MB);

            assertThatThrownBy(() -> probe.directMemory().setBytes(2 * MB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_DIRECT_MEMORY_LIMIT))
                    .hasMessage("Query exceeded per-node direct memory limit of 4MB [Allocated: 3MB, Delta: 2MB, Top Consumers: {ArrowBuild=3MB}]");
            assertThat(probe.directMemory().trySetBytes(2 * MB)).isFalse();

            assertThat(probe.directMemory().bytes()).isZero();
            assertThat(query.directBytes()).isEqualTo(3 * MB);
            assertThat(node.directPool().orElseThrow().reservedBytes()).isEqualTo(3 * MB);
            // the heap's per-node limit is another one
            assertThat(probe.userMemory().setBytes(5 * MB)).isDone();
            assertThat(probe.directMemory().trySetBytes(MB)).isTrue();
        }
    }

    @Test
    void killingAQueryReleasesBothKindsAndLaterCallsFailWithTheKill()
    {
        try (MemoryEngine engine = engine(Map.of())) {
            NodeMemory node = engine.node(0);
            TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            OperatorMemoryContext operator = task.addOperator("ArrowBuild");
            operator.directMemory().setBytes(8 * MB);
            operator.userMemory().setBytes(2 * MB);
            operator.revocableMemory().setBytes(MB);
            assertThat(node.info().isBlocked()).isTrue();

            assertThat(node.failQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed for the test")).isTrue();

            assertThat(node.directPool().orElseThrow().reservedBytes()).isZero();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(node.pool().reservedRevocableBytes()).isZero();
            assertThat(node.info().isBlocked()).isFalse();
            assertThatThrownBy(() -> operator.directMemory().setBytes(MB)).isInstanceOf(QueryKilledException.class);
            operator.close();
            assertThat(node.directPool().orElseThrow().reservedBytes()).isZero();
        }
    }

    @Test
    void theClusterLoopCountsANodeBlockedByItsDirectPool()
    {
        try (MemoryEngine engine = engine(Map.of("cluster.node-count", "2", "node.heap-governed", "false"))) {
            OperatorMemoryContext operator = engine.node(1).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("ArrowBuild");
            operator.directMemory().setBytes(8 * MB);

            engine.cluster().process();

            assertThat(engine.cluster().blockedNodes()).isEqualTo(1);
            operator.close();
        }
    }

    @Test
    void theClusterTotalLimitCountsDirectMemoryAndTheUserLimitDoesNot()
    {
        // query.max-memory is user memory (heap); query.max-total-memory every pool of every node, the direct one included
        try (MemoryEngine engine = engine(Map.of("query.max-memory", "4MB", "query.max-total-memory", "6MB"))) {
            NodeMemory node = engine.node(0);
            QueryContext query = (QueryContext) node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("ArrowBuild");
            operator.userMemory().setBytes(2 * MB);
            operator.directMemory().setBytes(3 * MB);

            engine.cluster().process();
            assertThat(query.failure()).isEmpty();

            operator.directMemory().setBytes(5 * MB);
            engine.cluster().process();

            assertThat(query.failure()).hasValueSatisfying(failure -> {
                assertThat(failure.errorCode()).isEqualTo(ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT);
                assertThat(failure.getMessage()).isEqualTo("Query exceeded distributed total memory limit of 6MB");
            });
            assertThat(node.directPool().orElseThrow().reservedBytes()).isZero();
            assertThat(node.pool().reservedBytes()).isZero();
        }
    }

    @Test
    void theNodeSnapshotAndJmxShowBothPoolsWithTheirKinds()
            throws Exception
    {
        Map<String, String> properties = new HashMap<>(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB",
                "node.direct-memory-size", "8MB",
                "memory.cluster.poll-interval", "1h",
                "memory.reservation-quantum", "0B"));
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().jmxName("direct-pool-test").properties(properties).build()) {
            OperatorMemoryContext operator = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("ArrowBuild");
            operator.directMemory().setBytes(3 * MB);
            operator.userMemory().setBytes(2 * MB);

            NodeMemorySnapshot snapshot = engine.nodeMemorySnapshot(0);
            assertThat(snapshot.pools()).containsOnlyKeys("general", "direct");
            assertThat(snapshot.pools().get("general").kind()).isEqualTo("HEAP");
            assertThat(snapshot.pools().get("general").reservedBytes()).isEqualTo(2 * MB);
            assertThat(snapshot.pools().get("direct").kind()).isEqualTo("DIRECT");
            assertThat(snapshot.pools().get("direct").reservedBytes()).isEqualTo(3 * MB);
            assertThat(snapshot.pools().get("direct").queryMemoryReservations()).containsEntry("q1", 3 * MB);
            assertThat(engine.clusterMemorySnapshot().pools().get("direct").reservedDistributedBytes()).isEqualTo(3 * MB);

            String name = engine.jmxName().orElseThrow();
            ObjectName direct = new ObjectName("io.memgov:type=MemoryPool,engine=" + name + ",node=node-0,name=direct");
            assertThat(SERVER.getAttribute(direct, "MaxBytes")).isEqualTo(8 * MB);
            assertThat(SERVER.getAttribute(direct, "ReservedBytes")).isEqualTo(3 * MB);
            ObjectName general = new ObjectName("io.memgov:type=MemoryPool,engine=" + name + ",node=node-0,name=general");
            assertThat(SERVER.getAttribute(general, "ReservedBytes")).isEqualTo(2 * MB);
            operator.close();
        }
    }

    @Test
    @Timeout(30)
    void concurrentTrySetBytesNeverOverCommitsTheDirectPool()
            throws Exception
    {
        // eight threads race for the last bytes of a 1000-byte direct pool with the try path, which must never take
        // free bytes below zero (only a caller allowed to block may)
        try (MemoryEngine engine = engine(Map.of("node.direct-memory-size", "1000B"))) {
            NodeMemory node = engine.node(0);
            MemoryPool direct = node.directPool().orElseThrow();
            TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            AtomicLong lowestFree = new AtomicLong(Long.MAX_VALUE);
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                LocalMemoryContext memory = task.addOperator("op" + i).directMemory();
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                    }
                    catch (InterruptedException e) {
                        return;
                    }
                    for (int round = 0; round < 20_000; round++) {
                        memory.trySetBytes(ThreadLocalRandom.current().nextLong(300));
                        lowestFree.accumulateAndGet(direct.freeBytes(), Math::min);
                    }
                    memory.close();
                });
                threads.add(thread);
                thread.start();
            }
            start.countDown();
            for (Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(25));
                assertThat(thread.isAlive()).isFalse();
            }
            assertThat(lowestFree.get()).isGreaterThanOrEqualTo(0);
            assertThat(direct.reservedBytes()).isZero();
        }
    }

    @Test
    void withoutADirectPoolDirectRevocableMemoryIsRevocableMemoryInTheHeapPool()
    {
        try (MemoryEngine engine = engine(Map.of("node.direct-memory-size", "0B"))) {
            NodeMemory node = engine.node(0);
            TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            OperatorMemoryContext operator = task.addOperator("ArrowAggregation");

            operator.directRevocableMemory().setBytes(2 * MB);
            operator.revocableMemory().setBytes(MB);

            assertThat(node.pool().reservedRevocableBytes()).isEqualTo(3 * MB);
            assertThat(task.revocableBytes()).isEqualTo(3 * MB);
            assertThat(operator.requestMemoryRevoking()).isEqualTo(3 * MB);
            operator.directRevocableMemory().setBytes(0);
            operator.revocableMemory().setBytes(0);
            assertThat(operator.isMemoryRevokingRequested()).isFalse();
        }
    }
}
