package io.memgov.engine.internal.revoke;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.engine.internal.node.OperatorContext;
import io.memgov.engine.internal.revoke.RevokeTesting.ControlledConsumer;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumer;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 16 of trino-presto.md §5 (Trino's {@code TestOperatorMemoryRevocation}) and scenario 5's "a revoke request
 * also unblocks it", on real operator contexts.
 */
final class OperatorRevocationTest
{
    private final NodeMemory node = RevokeTesting.node(1000);
    private final TaskMemoryContext task = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1");

    @Test
    void theFirstRequestReturnsTheRevocableBytesAndASecondReturnsZero()
    {
        // Scenario 16: a request is made once; repeating it while it is pending must not ask the operator twice
        OperatorMemoryContext operator = task.addOperator("HashAggregation");
        operator.revocableMemory().setBytes(7);

        assertThat(operator.requestMemoryRevoking()).isEqualTo(7);
        assertThat(operator.isMemoryRevokingRequested()).isTrue();
        assertThat(operator.requestMemoryRevoking()).isZero();
    }

    @Test
    void anOperatorWithoutRevocableMemoryIsNotAsked()
    {
        OperatorMemoryContext operator = task.addOperator("HashAggregation");

        assertThat(operator.requestMemoryRevoking()).isZero();
        assertThat(operator.isMemoryRevokingRequested()).isFalse();
    }

    @Test
    void aConsumerRegisteredAfterTheRequestIsStartedAtOnce()
    {
        // Scenario 16's late listener: the request must not be lost because the operator registered late
        OperatorMemoryContext operator = task.addOperator("HashAggregation");
        operator.revocableMemory().setBytes(7);
        operator.requestMemoryRevoking();
        ControlledConsumer consumer = new ControlledConsumer(operator);

        operator.setRevocableConsumer(consumer);

        assertThat(consumer.starts.get()).isEqualTo(1);
        consumer.spill();
        assertThat(consumer.finishes.get()).isEqualTo(1);
        assertThat(operator.isMemoryRevokingRequested()).isFalse();
    }

    @Test
    void aSecondConsumerIsRefusedNamingTheOperator()
    {
        // Scenario 16: "listener already set"
        OperatorMemoryContext operator = task.addOperator("HashAggregation");
        operator.setRevocableConsumer(new ControlledConsumer(operator));

        assertThatThrownBy(() -> operator.setRevocableConsumer(new ControlledConsumer(operator)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("operator q1.1 HashAggregation already has a revocable consumer: ControlledConsumer{HashAggregation}");
    }

    @Test
    void finishIsCalledOnceAfterTheFutureCompletesAndThenTheOperatorCanBeAskedAgain()
    {
        OperatorMemoryContext operator = task.addOperator("OrderBy");
        ControlledConsumer consumer = new ControlledConsumer(operator);
        operator.setRevocableConsumer(consumer);
        operator.revocableMemory().setBytes(5);

        assertThat(operator.requestMemoryRevoking()).isEqualTo(5);
        assertThat(consumer.starts.get()).isEqualTo(1);
        assertThat(consumer.finishes.get()).isZero();
        consumer.spill();
        assertThat(consumer.finishes.get()).isEqualTo(1);

        operator.revocableMemory().setBytes(4);
        assertThat(operator.requestMemoryRevoking()).isEqualTo(4);
        assertThat(consumer.starts.get()).isEqualTo(2);
    }

    @Test
    void aRevokeRequestedDirectlyThatFailsFailsTheQueryOnTheNode()
    {
        QueryMemoryContext query = task.query();
        OperatorMemoryContext operator = task.addOperator("OrderBy");
        operator.setRevocableConsumer(() -> {
            throw new IllegalStateException("cannot spill");
        });
        operator.revocableMemory().setBytes(5);

        operator.requestMemoryRevoking();

        assertThat(query.failure()).hasValueSatisfying(failure -> {
            assertThat(failure.errorCode()).isEqualTo(ErrorCode.GENERIC_MEMORY_ERROR);
            assertThat(failure).hasMessage("Memory revoke of operator q1.1 OrderBy failed: java.lang.IllegalStateException: cannot spill");
        });
        assertThat(node.pool().reservedRevocableBytes()).isZero();
        assertThat(operator.isMemoryRevokingRequested()).isFalse();
    }

    @Test
    void aConsumerReturningNullFailsTheRevokeNamingTheOperator()
    {
        OperatorMemoryContext operator = task.addOperator("OrderBy");
        RevocableConsumer nullReturning = () -> null;
        operator.setRevocableConsumer(nullReturning);
        operator.revocableMemory().setBytes(5);

        CompletableFuture<Void> done = ((OperatorContext) operator).requestRevocation().orElseThrow().done();

        assertThat(done).isCompletedExceptionally();
        assertThatThrownBy(done::join).hasMessageContaining("startMemoryRevoke() of operator q1.1 OrderBy returned null");
    }

    @Test
    void aRevokeByTheSchedulerUnblocksADriverWaitingOnThePool()
    {
        // Scenario 5's last step with the real scheduler: user memory at max - 2 B, the revocable driver blocks after
        // 2 bytes, and the engine's revoking loop (defaults 0.9 / 0.5, not the test) has its operator spill
        try (MemoryEngine engine = RevokeTesting.engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB"))) {
            TaskMemoryContext engineTask = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            OperatorMemoryContext user = engineTask.addOperator("Exchange");
            OperatorMemoryContext revocable = engineTask.addOperator("HashAggregation");
            ControlledConsumer consumer = new ControlledConsumer(revocable);
            revocable.setRevocableConsumer(consumer);
            long max = engine.node(0).pool().maxBytes();
            assertThat(user.userMemory().setBytes(max - 2)).isDone();

            MemoryFuture blocked = MemoryFuture.NOT_BLOCKED;
            int iterations = 0;
            while (blocked.isDone()) {
                blocked = revocable.revocableMemory().addBytes(1);
                iterations++;
            }
            assertThat(iterations).isEqualTo(2);

            await().atMost(Duration.ofSeconds(10)).until(() -> consumer.starts.get() == 1);
            consumer.spill();
            assertThat(blocked).isDone();
            assertThat(engine.node(0).pool().freeBytes()).isEqualTo(2);
            // held to the end: the user operator's bytes fill the pool after its last use
            Reference.reachabilityFence(user);
        }
    }
}
