package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Memory no operator owns: a task's own ({@link TaskMemoryContext#localMemory()}) and a query's own
 * ({@link QueryMemoryContext#localMemory()}). Both are system memory, counted at their owner and everything above it,
 * at nothing below it, and shown in the pool under a tag that says what they are.
 */
final class OwnMemoryTest
{
    private static final long MB = 1024 * 1024;
    private static final QueryId Q1 = QueryId.of("q1");
    private static final TaskId TASK = TaskId.of(Q1, "0");

    private static MemoryEngine engine(String quantum)
    {
        return NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "200MB",
                "memory.heap-headroom-per-node", "100MB",
                "query.max-memory-per-node", "20MB",
                "memory.reservation-quantum", quantum));
    }

    @Test
    void taskMemoryIsCountedAtTheTaskAndAboveButAtNoOperator()
    {
        // Trino's TestMemoryTracking.testLocalAllocations: an allocation at the level below the task (Trino's pipeline,
        // memgov's operator) and one at the task itself; each level's figures and the pool's, as they go up and down
        try (MemoryEngine engine = engine("0B")) {
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext operator = task.addOperator("HashAggregation");
            LocalMemoryContext operatorMemory = operator.userMemory();
            LocalMemoryContext taskMemory = task.localMemory();
            assertThat(task.localMemory()).isSameAs(taskMemory);

            operatorMemory.setBytes(1_000_000);
            assertThat(operatorMemory.bytes()).isEqualTo(1_000_000);
            assertThat(task.userBytes()).isEqualTo(1_000_000);
            assertThat(pool.reservedBytes()).isEqualTo(1_000_000);

            taskMemory.setBytes(10_000_000);
            assertThat(taskMemory.bytes()).isEqualTo(10_000_000);
            // the operator does not see the task's own memory; the task, the query, the tracker and the pool do
            assertThat(operatorMemory.bytes()).isEqualTo(1_000_000);
            assertThat(operator.systemMemory().bytes()).isZero();
            assertThat(task.userBytes()).isEqualTo(1_000_000);
            assertThat(task.systemBytes()).isEqualTo(10_000_000);
            assertThat(query.userBytes()).isEqualTo(1_000_000);
            assertThat(query.systemBytes()).isEqualTo(10_000_000);
            assertThat(query.tracker().usedBytes()).isEqualTo(11_000_000);
            assertThat(pool.reservedBytes()).isEqualTo(11_000_000);
            assertThat(pool.info().taskMemoryReservations()).isEqualTo(Map.of(TASK, 11_000_000L));
            assertThat(pool.info().queryMemoryAllocations().get(Q1))
                    .containsExactly(new MemoryAllocation("(task-local)", 10_000_000), new MemoryAllocation("HashAggregation", 1_000_000));
            TaskSnapshot snapshot = node.snapshot().queries().get(0).tasks().get(0);
            assertThat(snapshot.userBytes()).isEqualTo(1_000_000);
            assertThat(snapshot.systemBytes()).isEqualTo(10_000_000);
            // the top consumers of a limit message are the pool's tagged allocations, system memory included (Presto's
            // getAdditionalFailureInfo): the task's own memory under its own tag
            assertThat(query.topConsumers(3)).isEqualTo(Map.of("(task-local)", 10_000_000L, "HashAggregation", 1_000_000L));

            operatorMemory.setBytes(0);
            assertThat(task.userBytes()).isZero();
            assertThat(task.systemBytes()).isEqualTo(10_000_000);
            assertThat(pool.reservedBytes()).isEqualTo(10_000_000);

            taskMemory.setBytes(0);
            assertThat(task.systemBytes()).isZero();
            assertThat(query.tracker().usedBytes()).isZero();
            assertThat(pool.reservedBytes()).isZero();
            query.close();
        }
    }

    @Test
    void queryMemoryIsCountedAtTheQueryAndAboveButAtNoTask()
    {
        try (MemoryEngine engine = engine("0B")) {
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            LocalMemoryContext queryMemory = query.localMemory();
            assertThat(query.localMemory()).isSameAs(queryMemory);

            queryMemory.setBytes(2 * MB);
            task.localMemory().setBytes(MB);
            assertThat(query.systemBytes()).isEqualTo(3 * MB);
            assertThat(task.systemBytes()).isEqualTo(MB);
            assertThat(query.tracker().usedBytes()).isEqualTo(3 * MB);
            assertThat(node.rootTracker().usedBytes()).isEqualTo(3 * MB);
            assertThat(pool.reservedBytes()).isEqualTo(3 * MB);
            assertThat(pool.info().taskMemoryReservations()).isEqualTo(Map.of(TASK, MB, TaskId.of(Q1, "query-local"), 2 * MB));
            assertThat(pool.info().queryMemoryAllocations().get(Q1))
                    .containsExactly(new MemoryAllocation("(query-local)", 2 * MB), new MemoryAllocation("(task-local)", MB));
            // the snapshot lists the host's tasks only; the query's totals include its own memory
            QuerySnapshot snapshot = node.snapshot().queries().get(0);
            assertThat(snapshot.systemBytes()).isEqualTo(3 * MB);
            assertThat(snapshot.tasks()).extracting(TaskSnapshot::taskId).containsExactly(TASK);

            queryMemory.setBytes(0);
            assertThat(pool.info().taskMemoryReservations()).isEqualTo(Map.of(TASK, MB));
            query.close();
            assertThat(pool.reservedBytes()).isZero();
        }
    }

    @Test
    void ownMemoryCountsTowardTheTotalLimitButNotTheUserLimit()
    {
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "200MB",
                "memory.heap-headroom-per-node", "100MB",
                "query.max-memory-per-node", "10MB",
                "query.max-total-memory-per-node", "12MB"))) {
            QueryMemoryContext query = engine.node(0).createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            // above the user limit, below the total limit
            task.localMemory().setBytes(6 * MB);
            query.localMemory().setBytes(5 * MB);
            assertThat(query.systemBytes()).isEqualTo(11 * MB);

            LocalMemoryContext operator = task.addOperator("HashAggregation").userMemory();
            assertThatThrownBy(() -> operator.setBytes(2 * MB))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessageStartingWith("Query exceeded per-node total memory limit of 12MB [Allocated: 11MB, Delta: 2MB");
            assertThatThrownBy(() -> query.localMemory().setBytes(7 * MB))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessageStartingWith("Query exceeded per-node total memory limit of 12MB");
            assertThat(query.localMemory().trySetBytes(7 * MB)).isFalse();
            assertThat(query.localMemory().bytes()).isEqualTo(5 * MB);
            assertThat(query.systemBytes()).isEqualTo(11 * MB);
            assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(11 * MB);
            query.close();
        }
    }

    @Test
    void closingReleasesOwnMemoryAndLaterChangesAreRefused()
    {
        try (MemoryEngine engine = engine("0B")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            LocalMemoryContext taskMemory = task.localMemory();
            taskMemory.setBytes(3 * MB);
            query.localMemory().setBytes(2 * MB);

            task.close();
            assertThat(taskMemory.bytes()).isZero();
            assertThat(query.systemBytes()).isEqualTo(2 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(2 * MB);
            assertThatThrownBy(() -> taskMemory.setBytes(MB))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("system memory context of q1.0 (task-local) is already closed");

            query.close();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(node.rootTracker().usedBytes()).isZero();
            assertThatThrownBy(() -> query.localMemory().setBytes(MB))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("system memory context of q1 (query-local) is already closed");
        }
    }

    @Test
    void killingReleasesOwnMemoryAndLaterChangesFailWithTheKill()
    {
        try (MemoryEngine engine = engine("1MB")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext killedTask = query.addTask("0");
            TaskMemoryContext otherTask = query.addTask("1");
            killedTask.localMemory().setBytes(3 * MB + 1);
            otherTask.localMemory().setBytes(MB);
            query.localMemory().setBytes(2 * MB);
            // with a quantum the own memory reserves in quanta too
            assertThat(killedTask.localMemory().reservedBytes()).isEqualTo(4 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(7 * MB);

            // a task killed alone releases its own memory, not the query's
            assertThat(killedTask.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "task killed by the test")).isTrue();
            assertThat(killedTask.localMemory().bytes()).isZero();
            assertThat(node.pool().reservedBytes()).isEqualTo(3 * MB);
            assertThatThrownBy(() -> killedTask.localMemory().setBytes(MB))
                    .isInstanceOf(QueryKilledException.class)
                    .hasMessage("task killed by the test");

            // a query killed releases everything, its own memory with it
            assertThat(query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "query killed by the test")).isTrue();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(query.localMemory().reservedBytes()).isZero();
            assertThatThrownBy(() -> query.localMemory().setBytes(MB))
                    .isInstanceOf(QueryKilledException.class)
                    .hasMessage("query killed by the test");
            assertThatThrownBy(() -> otherTask.localMemory().trySetBytes(MB)).isInstanceOf(QueryKilledException.class);
            query.close();
            assertThat(node.rootTracker().usedBytes()).isZero();
        }
    }

    @Test
    void aViewReachesTheHostsOwnMemoryContext()
    {
        try (MemoryEngine engine = engine("0B")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            QueryMemoryContext view = node.query(Q1).orElseThrow();
            assertThat(view.localMemory()).isSameAs(query.localMemory());
            assertThat(view.tasks().get(0).localMemory()).isSameAs(task.localMemory());
            view.tasks().get(0).localMemory().setBytes(MB);
            assertThat(task.systemBytes()).isEqualTo(MB);
            query.close();
        }
    }
}
