package io.memgov.engine.internal.revoke;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The revoking scheduler watches a node's direct pool as it watches the heap pool: when the direct pool passes the
 * threshold, operators holding revocable direct memory are asked to spill, and the heap pool's revocable memory is
 * left alone while the heap pool has room.
 */
final class DirectPoolRevokingTest
{
    private static final long MB = 1024 * 1024;

    @Test
    @Timeout(30)
    void aFillingDirectPoolMakesTheSchedulerAskTheOperatorHoldingDirectRevocableMemoryToSpill()
    {
        try (MemoryEngine engine = RevokeTesting.engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB",
                "node.direct-memory-size", "8MB"))) {
            NodeMemory node = engine.node(0);
            MemoryPool direct = node.directPool().orElseThrow();
            TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            OperatorMemoryContext spiller = task.addOperator("ArrowAggregation");
            OperatorMemoryContext heapSpiller = task.addOperator("HashAggregation");
            OperatorMemoryContext holder = task.addOperator("ArrowScan");
            assertThat(heapSpiller.revocableMemory().setBytes(MB)).isDone();
            assertThat(spiller.directRevocableMemory().setBytes(5 * MB)).isDone();
            assertThat(direct.reservedRevocableBytes()).isEqualTo(5 * MB);
            assertThat(spiller.isMemoryRevokingRequested()).isFalse();

            // 8MB of 8MB: free 0 is below the 10% the default threshold keeps free
            holder.directMemory().setBytes(3 * MB);

            await().atMost(Duration.ofSeconds(10)).until(spiller::isMemoryRevokingRequested);
            // the heap pool has 9MB free: its revocable memory stays
            assertThat(heapSpiller.isMemoryRevokingRequested()).isFalse();
            spiller.directRevocableMemory().setBytes(0);
            assertThat(spiller.isMemoryRevokingRequested()).isFalse();
            assertThat(direct.reservedRevocableBytes()).isZero();
            assertThat(direct.reservedBytes()).isEqualTo(3 * MB);
            assertThat(engine.revokingScheduler(node.nodeId()).orElseThrow().revokesRequested()).isOne();
        }
    }

    @Test
    @Timeout(30)
    void aRevokeRequestCoversBothRevocableKindsAndEndsWhenBothAreZero()
    {
        try (MemoryEngine engine = RevokeTesting.engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB",
                "node.direct-memory-size", "8MB"))) {
            NodeMemory node = engine.node(0);
            OperatorMemoryContext operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("ArrowAggregation");
            operator.revocableMemory().setBytes(MB);
            operator.directRevocableMemory().setBytes(2 * MB);

            assertThat(operator.requestMemoryRevoking()).isEqualTo(3 * MB);
            operator.directRevocableMemory().setBytes(0);
            assertThat(operator.isMemoryRevokingRequested()).isTrue();
            operator.revocableMemory().setBytes(0);
            assertThat(operator.isMemoryRevokingRequested()).isFalse();
        }
    }
}
