package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.QueryId;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue #17, defect 9: contexts kept working after {@code engine.close()}, reserving in a pool nobody governs any
 * more. Every change and every new context now fails with an {@link IllegalStateException} saying the engine is
 * closed; what the contexts held is released by the engine's close, and closing them afterwards still works.
 */
final class UseAfterEngineCloseTest
{
    private static final long MB = 1024 * 1024;

    // with a quantum, a change inside the operator's reservation reaches nothing above it: it must fail all the same
    @ParameterizedTest(name = "reservation quantum {0}")
    @ValueSource(strings = {"0B", "1MB"})
    void everyChangeAndNewContextFailsOnceTheEngineIsClosedAndClosingStillWorks(String quantum)
    {
        MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of("node.heap-size", "64MB", "memory.reservation-quantum", quantum));
        NodeMemory node = engine.node(0);
        MemoryPool pool = node.pool();
        QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        OperatorMemoryContext operator = task.addOperator("HashAggregation");
        operator.userMemory().setBytes(100);
        operator.revocableMemory().setBytes(100);
        task.localMemory().setBytes(10);
        query.localMemory().setBytes(10);

        engine.close();

        assertThat(pool.reservedBytes()).as("released by the engine's close").isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        Map<String, ThrowingCallable> uses = new LinkedHashMap<>();
        for (Map.Entry<String, LocalMemoryContext> memory : Map.of(
                "operator user", operator.userMemory(), "operator system", operator.systemMemory(), "operator revocable", operator.revocableMemory(),
                "task own", task.localMemory(), "query own", query.localMemory()).entrySet()) {
            uses.put(memory.getKey() + " setBytes within a quantum", () -> memory.getValue().setBytes(50));
            uses.put(memory.getKey() + " setBytes", () -> memory.getValue().setBytes(2 * MB));
            uses.put(memory.getKey() + " trySetBytes", () -> memory.getValue().trySetBytes(2 * MB));
            uses.put(memory.getKey() + " setBytes(0)", () -> memory.getValue().setBytes(0));
        }
        uses.put("addOperator", () -> task.addOperator("OrderBy"));
        uses.put("addTask", () -> query.addTask("1"));
        uses.put("createQuery", () -> node.createQuery(QueryId.of("q2"), QuerySession.of("alice")));
        uses.forEach((name, use) -> assertThatThrownBy(use)
                .as(name)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("memory engine is closed")
                .hasMessageContaining("node-0"));

        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(node.rootTracker().usedBytes()).isZero();
        assertThat(query.userBytes() + query.systemBytes() + query.revocableBytes()).isZero();
        operator.close();
        task.close();
        query.close();
        assertThat(query.isClosed()).isTrue();
        assertThat(pool.info().queryMemoryReservations()).isEmpty();
        assertThat(node.queries()).isEmpty();
        // closing twice stays harmless
        engine.close();
        assertThat(List.of(pool.reservedBytes(), pool.reservedRevocableBytes())).containsOnly(0L);
    }
}
