package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.QuerySession;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A thread blocked on the pool's future wakes when another thread frees memory, and never before: not when more is
 * reserved, and not when a free leaves free bytes at or below zero (Trino's {@code TestMemoryBlocking}).
 */
final class BlockedFutureTest
{
    private static final long MB = 1024 * 1024;

    @Test
    void blockedThreadWakesOnlyWhenFreeBytesBecomePositive()
            throws Exception
    {
        // pool 10MB; per-node limit 10MB so that one query can fill it
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB"))) {
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();
            LocalMemoryContext hog = node.createQuery(QueryId.of("hog"), QuerySession.of("bob")).addTask("0").addOperator("hog").userMemory();
            LocalMemoryContext waiter = node.createQuery(QueryId.of("waiter"), QuerySession.of("alice")).addTask("0").addOperator("waiter").userMemory();
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                hog.setBytes(8 * MB);
                MemoryFuture future = waiter.setBytes(3 * MB);
                assertThat(pool.freeBytes()).isEqualTo(-MB);
                assertThat(future).isNotDone();

                CountDownLatch waiting = new CountDownLatch(1);
                AtomicBoolean woke = new AtomicBoolean();
                Thread blocked = new Thread(() -> {
                    waiting.countDown();
                    future.join();
                    woke.set(true);
                }, "blocked-driver");
                blocked.start();
                waiting.await();
                await().atMost(Duration.ofSeconds(5)).until(() -> blocked.getState() == Thread.State.WAITING);

                // another thread reserves more: still blocked
                run(other, () -> hog.setBytes(9 * MB));
                assertStillBlocked(future, woke, blocked);

                // a partial free that leaves free < 0: still blocked
                run(other, () -> hog.setBytes(8 * MB + MB / 2));
                assertThat(pool.freeBytes()).isNegative();
                assertStillBlocked(future, woke, blocked);

                // a free that leaves free == 0: still blocked, because blocked means free <= 0
                run(other, () -> hog.setBytes(7 * MB));
                assertThat(pool.freeBytes()).isZero();
                assertStillBlocked(future, woke, blocked);

                // one more byte: the waiter wakes
                run(other, () -> hog.setBytes(7 * MB - 1));
                await().atMost(Duration.ofSeconds(5)).untilTrue(woke);
                blocked.join(TimeUnit.SECONDS.toMillis(5));
                assertThat(future).isDone();
                assertThat(blocked.isAlive()).isFalse();
                // held to the end: a collected waiter would release its 3MB and wake itself
                Reference.reachabilityFence(waiter);
            }
            finally {
                other.shutdownNow();
            }
        }
    }

    @Test
    void callbacksRegisteredOnTheFutureRunWhenMemoryIsFreed()
    {
        // operators usually chain a continuation rather than park a thread; it must fire from the freeing thread
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB"))) {
            NodeMemory node = engine.node(0);
            LocalMemoryContext memory = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("op").userMemory();
            MemoryFuture future = memory.setBytes(10 * MB);
            AtomicBoolean resumed = new AtomicBoolean();
            CompletableFuture<Void> continuation = future.thenRun(() -> resumed.set(true));
            assertThat(resumed).isFalse();

            // a derived stage is an ordinary future: cancelling it must not cancel the shared one
            CompletableFuture<Void> derived = future.thenRun(() -> {});
            derived.cancel(true);
            assertThat(future).isNotDone();

            memory.setBytes(MB);
            assertThat(continuation).isDone();
            assertThat(resumed).isTrue();
        }
    }

    private static void run(ExecutorService executor, Runnable action)
            throws Exception
    {
        executor.submit(action).get(5, TimeUnit.SECONDS);
    }

    private static void assertStillBlocked(MemoryFuture future, AtomicBoolean woke, Thread blocked)
    {
        // a wrong wake-up would show within moments: the waiter stays blocked the whole time
        await().during(Duration.ofMillis(50)).atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
            assertThat(future).isNotDone();
            assertThat(woke).isFalse();
            assertThat(blocked.isAlive()).isTrue();
        });
    }
}
