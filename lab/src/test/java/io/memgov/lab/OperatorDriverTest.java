package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

final class OperatorDriverTest
{
    private static final long MB = 1024 * 1024;

    @Test
    void aKilledTasksHeapStaysInItsPoolUntilItsThreadEnds()
            throws Exception
    {
        try (MemoryEngine engine = HashAggregationTest.engine("64MB", "32MB")) {
            MemoryPool pool = engine.node(0).pool();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext operator = task.addOperator(HashAggregation.TAG);
            OperatorDriver driver = OperatorDriver.unkilled();
            driver.setBytes(operator.userMemory(), 3 * MB, () -> {});
            driver.setBytes(operator.revocableMemory(), 2 * MB, () -> {});
            driver.release(operator.revocableMemory());
            driver.setBytes(operator.revocableMemory(), MB, () -> {});
            assertThat(driver.accountedBytes()).isEqualTo(4 * MB);
            assertThat(reserved(pool)).isEqualTo(4 * MB);

            // memgov releases a killed query's memory at once, while its operator still holds the heap
            assertThat(engine.failQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "the test kills it")).isTrue();
            assertThat(reserved(pool)).isZero();

            driver.holdAfterKill(pool, task.taskId());
            assertThat(reserved(pool)).isEqualTo(4 * MB);
            assertThat(pool.queryReservedBytes(QueryId.of("q1"))).isEqualTo(4 * MB);
            // a second kill (a task kill after the query's) holds nothing more
            driver.holdAfterKill(pool, task.taskId());
            assertThat(reserved(pool)).isEqualTo(4 * MB);

            driver.taskEnded();
            assertThat(reserved(pool)).isZero();
            // a kill reported after the thread ended holds nothing: nobody would free it
            driver.holdAfterKill(pool, task.taskId());
            assertThat(reserved(pool)).isZero();
            query.close();
        }
    }

    @Test
    void aClosedOperatorHoldsNothingAfterAKill()
            throws Exception
    {
        try (MemoryEngine engine = HashAggregationTest.engine("64MB", "32MB")) {
            MemoryPool pool = engine.node(0).pool();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext operator = task.addOperator(HashAggregation.TAG);
            OperatorDriver driver = OperatorDriver.unkilled();
            driver.setBytes(operator.userMemory(), 3 * MB, () -> {});
            operator.close();
            driver.closed();

            assertThat(engine.failQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "the test kills it")).isTrue();
            driver.holdAfterKill(pool, task.taskId());

            assertThat(driver.accountedBytes()).isZero();
            assertThat(reserved(pool)).isZero();
            driver.taskEnded();
            query.close();
        }
    }

    private static long reserved(MemoryPool pool)
    {
        return pool.reservedBytes() + pool.reservedRevocableBytes();
    }
}
