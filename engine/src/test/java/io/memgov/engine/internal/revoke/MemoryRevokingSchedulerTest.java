package io.memgov.engine.internal.revoke;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.MemoryRevoker;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.node.OperatorContext;
import io.memgov.engine.internal.revoke.RevokeTesting.ControlledConsumer;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static io.memgov.engine.internal.revoke.RevokeTesting.OLDEST_TASK_FIRST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 15 of trino-presto.md §5 (Trino's {@code TestMemoryRevokingScheduler}) and the scheduler's own rules, on
 * real node, query, task and operator contexts.
 */
final class MemoryRevokingSchedulerTest
{
    private static final Duration NEVER = Duration.ofHours(1);

    private final ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);

    @AfterEach
    void shutDown()
    {
        executor.shutdownNow();
    }

    @Test
    void revokesOldestTasksFirstAndCountsBytesAlreadyBeingRevoked()
    {
        // Scenario 15: threshold = target = 1 on a 10-byte pool, so revoking starts when free <= 0 and aims at free = 0
        NodeMemoryManager node = RevokeTesting.node(10);
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, NEVER, (q, c, m) -> true);
        scheduler.start();
        QueryMemoryContext query1 = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        TaskMemoryContext task1 = query1.addTask("1");
        OperatorMemoryContext op1 = task1.addOperator("op1");
        OperatorMemoryContext op2 = task1.addOperator("op2");
        OperatorMemoryContext op3 = task1.addOperator("op3");
        QueryMemoryContext query2 = node.createQuery(QueryId.of("q2"), QuerySession.of("bob"));
        TaskMemoryContext task2 = query2.addTask("1");
        OperatorMemoryContext op4 = task2.addOperator("op4");
        OperatorMemoryContext op5 = task2.addOperator("op5");
        List<OperatorMemoryContext> all = List.of(op1, op2, op3, op4, op5);

        scheduler.checkNow();
        assertThat(node.pool().freeBytes()).isEqualTo(10);
        assertThat(requested(all)).isEmpty();

        op1.revocableMemory().setBytes(3);
        op3.revocableMemory().setBytes(6);
        assertThat(node.pool().freeBytes()).isEqualTo(1);
        scheduler.checkNow();
        assertThat(requested(all)).isEmpty();

        op4.revocableMemory().setBytes(7);
        assertThat(node.pool().freeBytes()).isEqualTo(-6);
        scheduler.checkNow();
        // 6 bytes are needed: op1 (3) then op3 (6), in the older task's registration order
        assertThat(requested(all)).containsExactly("op1", "op3");

        // asked operators are not asked again, and nobody else is
        scheduler.checkNow();
        assertThat(requested(all)).containsExactly("op1", "op3");

        // op1 spills (no consumer: dropping its revocable memory to zero completes the request)
        op1.revocableMemory().setBytes(0);
        scheduler.checkNow();
        assertThat(requested(all)).containsExactly("op3");
        assertThat(node.pool().freeBytes()).isEqualTo(-3);

        // op3's 6 bytes in flight cover free = -6
        op5.revocableMemory().setBytes(3);
        assertThat(node.pool().freeBytes()).isEqualTo(-6);
        scheduler.checkNow();
        assertThat(requested(all)).containsExactly("op3");

        // now they do not: op4 is next
        op5.revocableMemory().setBytes(4);
        assertThat(node.pool().freeBytes()).isEqualTo(-7);
        scheduler.checkNow();
        assertThat(requested(all)).containsExactly("op3", "op4");
        scheduler.close();
    }

    @Test
    void revokesOnPoolEventsWithoutThePeriodicCheck()
    {
        // Scenario 15's listener path: the tick never fires here, so only the pool listener can trigger the revoke
        NodeMemoryManager node = RevokeTesting.node(10);
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, NEVER, (q, c, m) -> true);
        scheduler.start();
        OperatorMemoryContext operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1").addOperator("HashAggregation");
        ControlledConsumer consumer = new ControlledConsumer(operator);
        operator.setRevocableConsumer(consumer);

        operator.revocableMemory().setBytes(12);

        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.starts.get() == 1);
        assertThat(operator.isMemoryRevokingRequested()).isTrue();
        consumer.spill();
        assertThat(consumer.finishes.get()).isEqualTo(1);
        assertThat(operator.isMemoryRevokingRequested()).isFalse();
        assertThat(node.pool().freeBytes()).isEqualTo(10);
        scheduler.close();
    }

    @Test
    void startsRevokingAtTheThresholdAndAimsAtTheTarget()
    {
        // defaults 0.9 / 0.5 on a 100-byte pool: revoking starts at free <= 10 and wants free back at 50
        NodeMemoryManager node = RevokeTesting.node(100);
        AtomicReference<Long> asked = new AtomicReference<>();
        SpillStrategy recording = (pool, consumers, bytesToRevoke) -> {
            asked.set(bytesToRevoke);
            return OLDEST_TASK_FIRST.chooseConsumersToRevoke(pool, consumers, bytesToRevoke);
        };
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, recording, 0.9, 0.5, executor, NEVER, (q, c, m) -> true);
        TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1");
        OperatorMemoryContext user = task.addOperator("Exchange");
        OperatorMemoryContext a = task.addOperator("a");
        OperatorMemoryContext b = task.addOperator("b");

        user.userMemory().setBytes(5);
        a.revocableMemory().setBytes(30);
        b.revocableMemory().setBytes(54);
        scheduler.checkNow();
        // free 11 > 10: not yet
        assertThat(scheduler.isRevokingNeeded()).isFalse();
        assertThat(asked.get()).isNull();

        b.revocableMemory().setBytes(55);
        scheduler.checkNow();
        // free 10: revoke -10 + 50 = 40 bytes, which a (30) alone does not cover
        assertThat(asked.get()).isEqualTo(40);
        assertThat(requested(List.of(a, b))).containsExactly("a", "b");
        // held to the end: its 5 bytes count in every free figure above
        Reference.reachabilityFence(user);
    }

    @Test
    void marksTheOperatorThatGrewLastAsTheRequester()
    {
        // the strategies spare or pick the requester (Spark revokes it last): it must be the latest grower, whatever
        // kind it grew and however often it grew in a row, with no clock behind the order
        NodeMemoryManager node = RevokeTesting.node(100);
        List<String> requesters = new CopyOnWriteArrayList<>();
        SpillStrategy recording = (pool, consumers, bytesToRevoke) -> {
            consumers.stream().filter(RevocableConsumerInfo::requester).forEach(consumer -> requesters.add(consumer.tag()));
            return List.of();
        };
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, recording, 0.5, 0.5, executor, NEVER, (q, c, m) -> true);
        TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1");
        OperatorMemoryContext a = task.addOperator("a");
        OperatorMemoryContext b = task.addOperator("b");
        OperatorMemoryContext c = task.addOperator("c");
        assertThat(((OperatorContext) a).lastGrowthSequence()).isZero();

        a.revocableMemory().setBytes(20);
        b.revocableMemory().setBytes(20);
        c.revocableMemory().setBytes(20);
        scheduler.checkNow();
        // a shrink is no growth
        c.revocableMemory().setBytes(15);
        scheduler.checkNow();
        // growing user memory counts, and so does growing again after nobody else grew
        a.userMemory().setBytes(1);
        a.revocableMemory().setBytes(25);
        a.revocableMemory().setBytes(30);
        scheduler.checkNow();
        b.systemMemory().setBytes(1);
        scheduler.checkNow();

        assertThat(requesters).containsExactly("c", "c", "a", "b");
        scheduler.close();
    }

    @Test
    void asksAConsumerAgainOnlyAfterItsRevokeFinished()
    {
        NodeMemoryManager node = RevokeTesting.node(10);
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, NEVER, (q, c, m) -> true);
        OperatorMemoryContext operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1").addOperator("OrderBy");
        ControlledConsumer consumer = new ControlledConsumer(operator);
        operator.setRevocableConsumer(consumer);

        operator.revocableMemory().setBytes(11);
        scheduler.checkNow();
        scheduler.checkNow();
        assertThat(consumer.starts.get()).isEqualTo(1);
        assertThat(consumer.finishes.get()).isZero();

        // the operator spills only part of its memory; finishing lets it be asked again
        operator.revocableMemory().setBytes(10);
        consumer.current().complete(null);
        assertThat(consumer.finishes.get()).isEqualTo(1);
        assertThat(operator.isMemoryRevokingRequested()).isFalse();
        operator.revocableMemory().setBytes(11);
        scheduler.checkNow();
        assertThat(consumer.starts.get()).isEqualTo(2);
    }

    @Test
    void aFailedRevokeFailsTheQueryEverywhereWithTheFailuresErrorCode()
    {
        // through the engine's own scheduler: the failure reaches the engine's failure listeners
        try (MemoryEngine engine = RevokeTesting.engine(Map.of(
                "node.heap-size", "64MB",
                "memory.pool.fixed.max-size", "1000",
                "memory-revoking-threshold", "1",
                "memory-revoking-target", "1"))) {
            List<String> failures = new CopyOnWriteArrayList<>();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> failures.add(queryId + " " + errorCode + " " + message));
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("1").addOperator("HashAggregation");
            ControlledConsumer consumer = new ControlledConsumer(operator);
            operator.setRevocableConsumer(consumer);

            operator.revocableMemory().setBytes(1001);
            await().atMost(Duration.ofSeconds(10)).until(() -> consumer.starts.get() == 1);
            consumer.fail(new MemoryLimitExceededException(ErrorCode.EXCEEDED_SPILL_LIMIT, "Query exceeded local spill limit of 1kB"));

            await().atMost(Duration.ofSeconds(10)).until(() -> !failures.isEmpty());
            assertThat(failures).containsExactly("q1 EXCEEDED_SPILL_LIMIT Query exceeded local spill limit of 1kB");
            assertThat(consumer.finishes.get()).isZero();
            assertThat(engine.node(0).pool().reservedRevocableBytes()).isZero();
            assertThatThrownBy(() -> operator.revocableMemory().setBytes(1))
                    .isInstanceOfSatisfying(QueryKilledException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_SPILL_LIMIT));
        }
    }

    @Test
    void aFailureThatIsNotMemoryGovernanceFailsTheQueryWithAGenericCodeNamingTheOperator()
    {
        NodeMemoryManager node = RevokeTesting.node(10);
        List<String> failed = new CopyOnWriteArrayList<>();
        AtomicReference<OperatorMemoryContext> failing = new AtomicReference<>();
        List<Boolean> requestedWhenFailed = new CopyOnWriteArrayList<>();
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, NEVER,
                (queryId, errorCode, message) -> {
                    requestedWhenFailed.add(failing.get().isMemoryRevokingRequested());
                    return failed.add(queryId + " " + errorCode + " " + message);
                });
        OperatorMemoryContext operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1").addOperator("OrderBy");
        failing.set(operator);
        ControlledConsumer consumer = new ControlledConsumer(operator);
        operator.setRevocableConsumer(consumer);
        operator.revocableMemory().setBytes(11);
        scheduler.checkNow();

        consumer.fail(new IllegalStateException("disk gone"));

        assertThat(failed).containsExactly("q1 GENERIC_MEMORY_ERROR Memory revoke of operator OrderBy in task q1.1 failed: java.lang.IllegalStateException: disk gone");
        // the failed revoke's request was cleared by the time the query was failed. It is looked at there, not here:
        // this failer only records, so the query keeps its 11 bytes, and the check the scheduler queues on the executor
        // after every revoke's end may already have asked the operator again
        assertThat(requestedWhenFailed).containsExactly(false);
        // and it does ask again: the failed revoke left nothing behind that would keep the operator from being asked
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.starts.get() == 2);
        assertThat(operator.isMemoryRevokingRequested()).isTrue();
        assertThat(failed).hasSize(1);
    }

    @Test
    void closingTheOperatorCancelsItsPendingRevoke()
    {
        NodeMemoryManager node = RevokeTesting.node(10);
        MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, NEVER, (q, c, m) -> true);
        TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1");
        OperatorMemoryContext closing = task.addOperator("OrderBy");
        OperatorMemoryContext other = task.addOperator("HashAggregation");
        ControlledConsumer consumer = new ControlledConsumer(closing);
        closing.setRevocableConsumer(consumer);
        closing.revocableMemory().setBytes(8);
        other.revocableMemory().setBytes(3);
        scheduler.checkNow();
        assertThat(requested(List.of(closing, other))).containsExactly("OrderBy");

        closing.close();

        assertThat(consumer.current()).isCancelled();
        assertThat(consumer.finishes.get()).isZero();
        assertThat(closing.isMemoryRevokingRequested()).isFalse();
        assertThat(closing.requestMemoryRevoking()).isZero();
        assertThatThrownBy(() -> closing.setRevocableConsumer(new ControlledConsumer(closing)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("q1.1 OrderBy");
        // its bytes no longer count as being revoked, and the pool has room again: nobody else is asked
        scheduler.checkNow();
        assertThat(other.isMemoryRevokingRequested()).isFalse();
        assertThat(node.pool().freeBytes()).isEqualTo(7);
    }

    @Test
    void killingTheQueryCancelsItsPendingRevokes()
    {
        try (MemoryEngine engine = RevokeTesting.engine(Map.of(
                "node.heap-size", "64MB",
                "memory.pool.fixed.max-size", "1000",
                "memory-revoking-threshold", "1",
                "memory-revoking-target", "1"))) {
            OperatorMemoryContext operator = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1").addOperator("HashAggregation");
            ControlledConsumer consumer = new ControlledConsumer(operator);
            operator.setRevocableConsumer(consumer);
            operator.revocableMemory().setBytes(1001);
            await().atMost(Duration.ofSeconds(10)).until(() -> consumer.starts.get() == 1);

            assertThat(engine.failQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed")).isTrue();

            assertThat(consumer.current()).isCancelled();
            assertThat(consumer.finishes.get()).isZero();
            assertThat(operator.isMemoryRevokingRequested()).isFalse();
            assertThat(engine.node(0).pool().reservedRevocableBytes()).isZero();
        }
    }

    @Test
    void skipsAStrategyThatThrowsOrNamesAConsumerItWasNotOffered()
    {
        NodeMemoryManager node = RevokeTesting.node(10);
        SpillStrategy throwing = (pool, consumers, bytes) -> {
            throw new IllegalStateException("broken strategy");
        };
        OperatorMemoryContext operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1").addOperator("OrderBy");
        operator.revocableMemory().setBytes(11);

        new MemoryRevokingScheduler(node, throwing, 1.0, 1.0, executor, NEVER, (q, c, m) -> true).checkNow();
        new MemoryRevokingScheduler(node, (pool, consumers, bytes) -> List.of(new RevokeRequest(-42, 1)), 1.0, 1.0, executor, NEVER, (q, c, m) -> true).checkNow();
        assertThat(operator.isMemoryRevokingRequested()).isFalse();

        new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, NEVER, (q, c, m) -> true).checkNow();
        assertThat(operator.isMemoryRevokingRequested()).isTrue();
    }

    @Test
    void rejectsRatiosOutsideTheUnitIntervalAndATargetAboveTheThreshold()
    {
        NodeMemoryManager node = RevokeTesting.node(10);
        assertThatThrownBy(() -> new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.5, 0.5, executor, NEVER, (q, c, m) -> true))
                .hasMessage("threshold must be in [0, 1]: 1.5");
        assertThatThrownBy(() -> new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 0.5, 0.9, executor, NEVER, (q, c, m) -> true))
                .hasMessage("target 0.9 must not be above threshold 0.5");
        assertThatThrownBy(() -> new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 0.9, 0.5, executor, Duration.ZERO, (q, c, m) -> true))
                .hasMessage("checkInterval must be positive: PT0S");
    }

    @Test
    void theEngineStartsOneSchedulerPerNodeAndStopsThemOnClose()
    {
        MemoryEngine engine = RevokeTesting.engine(Map.of("node.heap-size", "64MB", "cluster.node-count", "2"));
        Set<String> nodes = engine.nodes().stream()
                .map(node -> engine.revokingScheduler(node.nodeId()).orElseThrow().nodeId().toString())
                .collect(Collectors.toSet());
        assertThat(nodes).containsExactlyInAnyOrder("node-0", "node-1");
        MemoryRevoker scheduler = engine.revokingScheduler(engine.node(0).nodeId()).orElseThrow();
        engine.close();
        long checks = scheduler.checks();
        scheduler.checkNow();
        assertThat(scheduler.checks()).isEqualTo(checks);
    }

    static List<String> requested(List<OperatorMemoryContext> operators)
    {
        return operators.stream().filter(OperatorMemoryContext::isMemoryRevokingRequested).map(OperatorMemoryContext::tag).toList();
    }
}
