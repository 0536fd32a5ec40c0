package io.memgov.engine.internal.revoke;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.revoke.RevokeTesting.ControlledConsumer;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.memgov.engine.internal.revoke.RevokeTesting.OLDEST_TASK_FIRST;
import static org.awaitility.Awaitility.await;

/**
 * The pool tells its listeners before the operator commits its new bytes. A reserving thread that is preempted (or
 * paused by a GC) between the two must not make the listener-triggered revoke get lost: with no periodic tick, the
 * scheduler's deferred checks must still see the commit and ask the operator.
 */
final class DelayedCommitRevokeTest
{
    @Test
    void aRevokeTriggeredByAPoolEventIsNotLostWhenTheOperatorCommitsLate()
    {
        ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
        try {
            NodeMemoryManager node = RevokeTesting.node(10);
            MemoryRevokingScheduler scheduler = new MemoryRevokingScheduler(node, OLDEST_TASK_FIRST, 1.0, 1.0, executor, Duration.ofHours(1), (query, code, message) -> true);
            scheduler.start();
            AtomicBoolean stall = new AtomicBoolean(true);
            // stands for the preemption: the reserving thread sleeps inside the pool's event, before its commit
            node.pool().addListener(pool -> {
                if (pool.reservedRevocableBytes() > 0 && stall.getAndSet(false)) {
                    try {
                        Thread.sleep(50);
                    }
                    catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            OperatorMemoryContext operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("1").addOperator("HashAggregation");
            ControlledConsumer consumer = new ControlledConsumer(operator);
            operator.setRevocableConsumer(consumer);
            operator.revocableMemory().setBytes(12);
            await().atMost(Duration.ofSeconds(3)).until(() -> consumer.starts.get() == 1);
            consumer.spill();
            scheduler.close();
            Reference.reachabilityFence(operator);
        }
        finally {
            executor.shutdownNow();
        }
    }
}
