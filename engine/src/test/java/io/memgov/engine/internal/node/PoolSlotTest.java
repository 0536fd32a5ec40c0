package io.memgov.engine.internal.node;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The operator's cached pool cells ({@link PoolSlot}): reservations made through them are the pool's per-query,
 * per-task and per-tag reservations in every snapshot, and a slot follows its query when the pool forgets it.
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
}
