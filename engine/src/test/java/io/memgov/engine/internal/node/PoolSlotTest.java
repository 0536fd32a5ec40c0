package io.memgov.engine.internal.node;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.pool.MemoryPoolSlot;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The operator's cached pool slot ({@link PoolSlot}): reservations made through it are the pool's per-query,
 * per-task and per-tag reservations in every snapshot, whether the pool offers slots of its own (the fixed pool's
 * cells) or not (a plugin pool, reached through its own calls); and a slot follows its query when the pool forgets it.
 */
final class PoolSlotTest
{
    private static final long MB = 1024 * 1024;

    @Test
    void reservationsThroughTheCachedCellsShowInEverySnapshot()
    {
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "100MB",
                "memory.heap-headroom-per-node", "50MB",
                "query.max-memory-per-node", "40MB"))) {
            NodeMemory node = engine.node(0);
            assertThat(node.pool()).isInstanceOf(FixedMemoryPool.class);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext aggregation = task.addOperator("HashAggregation");
            OperatorMemoryContext exchange = task.addOperator("Exchange");

            for (int i = 0; i < 10; i++) {
                aggregation.userMemory().setBytes(3 * MB + i);
                exchange.systemMemory().setBytes(MB + i);
                aggregation.revocableMemory().setBytes(2 * MB + i);
            }
            aggregation.userMemory().setBytes(3 * MB);
            exchange.systemMemory().setBytes(MB);
            aggregation.revocableMemory().setBytes(2 * MB);

            MemoryPoolInfo info = node.pool().info();
            TaskId taskId = TaskId.of(QueryId.of("q1"), "0");
            assertThat(info.reservedBytes()).isEqualTo(4 * MB);
            assertThat(info.queryMemoryReservations()).isEqualTo(Map.of(QueryId.of("q1"), 4 * MB));
            assertThat(info.taskMemoryReservations()).isEqualTo(Map.of(taskId, 4 * MB));
            assertThat(info.taskRevocableMemoryReservations()).isEqualTo(Map.of(taskId, 2 * MB));
            assertThat(info.queryMemoryAllocations().get(QueryId.of("q1")))
                    .containsExactly(new MemoryAllocation("HashAggregation", 3 * MB), new MemoryAllocation("Exchange", MB));
            assertThat(query.tracker().usedBytes()).isEqualTo(4 * MB);
            assertThat(query.tracker().peakBytes()).isEqualTo(4 * MB + 18);
            assertThat(node.rootTracker().usedBytes()).isEqualTo(4 * MB);

            query.close();
            assertThat(node.pool().info().queryMemoryReservations()).isEmpty();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(node.pool().reservedRevocableBytes()).isZero();
            assertThat(node.rootTracker().usedBytes()).isZero();
        }
    }

    @Test
    void aSlotWhoseCellsWereForgottenLooksThemUpAgain()
    {
        // the engine forgets a query only once it is closed; a pool may also be told directly, and the operator's
        // cached cells must then not swallow its reservations
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "100MB",
                "memory.heap-headroom-per-node", "50MB",
                "query.max-memory-per-node", "40MB"))) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
            operator.userMemory().setBytes(MB);
            operator.userMemory().setBytes(0);
            node.pool().forgetQuery(QueryId.of("q1"));

            operator.userMemory().setBytes(2 * MB);

            assertThat(node.pool().info().queryMemoryReservations()).isEqualTo(Map.of(QueryId.of("q1"), 2 * MB));
            assertThat(node.pool().info().queryMemoryAllocations().get(QueryId.of("q1"))).containsExactly(new MemoryAllocation("HashAggregation", 2 * MB));
            operator.userMemory().setBytes(0);
            assertThat(node.pool().info().queryMemoryReservations()).isEmpty();
            query.close();
        }
    }

    @Test
    void aPoolWithoutSlotsOfItsOwnGetsEveryChangeAsItsOwnCallWithTheSameSnapshots()
    {
        // the same operations as above, on a plugin pool that does not override MemoryPool.slot
        CountingPool counting = new CountingPool(new FixedMemoryPool("general", 50 * MB));
        try (MemoryEngine engine = MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .plugin(poolPlugin(counting))
                .property("memory.pool.policy", "counting")
                .property("node.heap-size", "100MB")
                .property("memory.heap-headroom-per-node", "50MB")
                .property("query.max-memory-per-node", "40MB")
                .property("memory.reservation-quantum", "0B")
                .build()) {
            NodeMemory node = engine.node(0);
            assertThat(node.pool()).isSameAs(counting);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext aggregation = task.addOperator("HashAggregation");
            OperatorMemoryContext exchange = task.addOperator("Exchange");

            aggregation.userMemory().setBytes(3 * MB + 1);
            exchange.systemMemory().setBytes(MB);
            aggregation.revocableMemory().setBytes(2 * MB);
            aggregation.userMemory().setBytes(3 * MB);
            assertThat(aggregation.userMemory().trySetBytes(3 * MB + 5)).isTrue();
            aggregation.userMemory().setBytes(3 * MB);

            TaskId taskId = TaskId.of(QueryId.of("q1"), "0");
            MemoryPoolInfo info = counting.info();
            assertThat(info.reservedBytes()).isEqualTo(4 * MB);
            assertThat(info.taskMemoryReservations()).isEqualTo(Map.of(taskId, 4 * MB));
            assertThat(info.taskRevocableMemoryReservations()).isEqualTo(Map.of(taskId, 2 * MB));
            assertThat(info.queryMemoryAllocations().get(QueryId.of("q1")))
                    .containsExactly(new MemoryAllocation("HashAggregation", 3 * MB), new MemoryAllocation("Exchange", MB));
            // every change reached the plugin pool through its own methods: 3 reserves, a tryReserve, 2 frees
            assertThat(counting.reserves.get()).isEqualTo(3);
            assertThat(counting.tries.get()).isEqualTo(1);
            assertThat(counting.frees.get()).isEqualTo(2);

            query.close();
            assertThat(counting.reservedBytes()).isZero();
            assertThat(counting.reservedRevocableBytes()).isZero();
        }
    }

    @Test
    void aSlotIsKeptUntilItGoesStaleOrTheQueryIsInAnotherPool()
    {
        FixedMemoryPool general = new FixedMemoryPool("general", 100);
        FixedMemoryPool reserved = new FixedMemoryPool("reserved", 100);
        TaskId taskId = TaskId.of(QueryId.of("q1"), "0");
        PoolSlot slot = new PoolSlot(taskId, "Scan");

        MemoryPoolSlot first = slot.in(general);
        assertThat(first.taskId()).isEqualTo(taskId);
        assertThat(first.tag()).isEqualTo("Scan");
        assertThat(slot.in(general)).isSameAs(first);

        // another pool: that pool's slot, and back again a fresh one of the first pool
        MemoryPoolSlot elsewhere = slot.in(reserved);
        assertThat(elsewhere).isNotSameAs(first);
        elsewhere.reserve(10);
        assertThat(reserved.taskReservedBytes(taskId)).isEqualTo(10);
        elsewhere.free(10);

        // the pool forgot the (empty) query: the kept slot is stale and a new one is asked for
        MemoryPoolSlot again = slot.in(general);
        general.forgetQuery(taskId.queryId());
        assertThat(again.isStale()).isTrue();
        MemoryPoolSlot fresh = slot.in(general);
        assertThat(fresh).isNotSameAs(again);
        assertThat(fresh.isStale()).isFalse();
        fresh.reserve(7);
        assertThat(general.info().queryMemoryAllocations().get(taskId.queryId())).containsExactly(new MemoryAllocation("Scan", 7));
    }

    private static MemoryPlugin poolPlugin(MemoryPool pool)
    {
        return new MemoryPlugin()
        {
            @Override
            public List<MemoryPoolFactory> memoryPoolFactories()
            {
                return List.of(new MemoryPoolFactory()
                {
                    @Override
                    public String name()
                    {
                        return "counting";
                    }

                    @Override
                    public MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context)
                    {
                        return MemoryPoolLayout.of(pool);
                    }
                });
            }
        };
    }

    /** A plugin pool with no slots of its own: it counts the calls it gets and passes them on. */
    private static final class CountingPool
            implements MemoryPool
    {
        final AtomicInteger reserves = new AtomicInteger();
        final AtomicInteger tries = new AtomicInteger();
        final AtomicInteger frees = new AtomicInteger();
        private final MemoryPool delegate;

        CountingPool(MemoryPool delegate)
        {
            this.delegate = delegate;
        }

        @Override
        public String id()
        {
            return delegate.id();
        }

        @Override
        public long maxBytes()
        {
            return delegate.maxBytes();
        }

        @Override
        public long reservedBytes()
        {
            return delegate.reservedBytes();
        }

        @Override
        public long reservedRevocableBytes()
        {
            return delegate.reservedRevocableBytes();
        }

        @Override
        public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
        {
            reserves.incrementAndGet();
            return delegate.reserve(taskId, tag, bytes);
        }

        @Override
        public boolean tryReserve(TaskId taskId, String tag, long bytes)
        {
            tries.incrementAndGet();
            return delegate.tryReserve(taskId, tag, bytes);
        }

        @Override
        public void free(TaskId taskId, String tag, long bytes)
        {
            frees.incrementAndGet();
            delegate.free(taskId, tag, bytes);
        }

        @Override
        public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
        {
            reserves.incrementAndGet();
            return delegate.reserveRevocable(taskId, bytes);
        }

        @Override
        public boolean tryReserveRevocable(TaskId taskId, long bytes)
        {
            tries.incrementAndGet();
            return delegate.tryReserveRevocable(taskId, bytes);
        }

        @Override
        public void freeRevocable(TaskId taskId, long bytes)
        {
            frees.incrementAndGet();
            delegate.freeRevocable(taskId, bytes);
        }

        @Override
        public long queryReservedBytes(QueryId queryId)
        {
            return delegate.queryReservedBytes(queryId);
        }

        @Override
        public long queryRevocableBytes(QueryId queryId)
        {
            return delegate.queryRevocableBytes(queryId);
        }

        @Override
        public void forgetQuery(QueryId queryId)
        {
            delegate.forgetQuery(queryId);
        }

        @Override
        public void addListener(MemoryPoolListener listener)
        {
            delegate.addListener(listener);
        }

        @Override
        public MemoryPoolInfo info()
        {
            return delegate.info();
        }
    }
}
