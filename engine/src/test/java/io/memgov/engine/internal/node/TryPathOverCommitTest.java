package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The try path never over-commits the pool, even when many threads race for the last free bytes: only calls that
 * were allowed to block (setBytes) may take free bytes below zero.
 */
final class TryPathOverCommitTest
{
    @ParameterizedTest
    @EnumSource(value = MemoryKind.class, names = {"USER", "SYSTEM", "DIRECT"})
    void concurrentTrySetBytesNeverOverCommitsThePool(MemoryKind kind)
            throws Exception
    {
        // the try path exists for callers that must not wait; an over-commit would make them wait anyway
        raceForTheLastBytes(kind);
    }

    @Test
    void concurrentRevocableTrySetBytesNeverOverCommitsThePool()
            throws Exception
    {
        // same contract for revocable memory: memgov offers a try path for it, so it must hold under concurrency
        raceForTheLastBytes(MemoryKind.REVOCABLE);
    }

    private static void raceForTheLastBytes(MemoryKind kind)
            throws Exception
    {
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of("node.heap-size", "64MB", "memory.pool.fixed.max-size", "1000"))) {
            MemoryPool pool = engine.node(0).pool();
            TaskMemoryContext task = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            AtomicLong lowestFree = new AtomicLong(Long.MAX_VALUE);
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                OperatorMemoryContext operator = task.addOperator("op" + i);
                LocalMemoryContext memory = switch (kind) {
                    case USER -> operator.userMemory();
                    case SYSTEM -> operator.systemMemory();
                    case REVOCABLE -> operator.revocableMemory();
                    // without a direct pool, user memory in the heap pool
                    case DIRECT -> operator.directMemory();
                    case DIRECT_REVOCABLE -> operator.directRevocableMemory();
                };
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                    }
                    catch (InterruptedException e) {
                        return;
                    }
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
                    while (System.nanoTime() < deadline) {
                        memory.trySetBytes(ThreadLocalRandom.current().nextLong(300));
                        lowestFree.accumulateAndGet(pool.freeBytes(), Math::min);
                    }
                    memory.close();
                });
                thread.setDaemon(true);
                threads.add(thread);
                thread.start();
            }
            start.countDown();
            for (Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            }
            assertThat(lowestFree.get()).as("lowest free bytes seen").isNotNegative();
            assertThat(pool.freeBytes()).isEqualTo(1000);
        }
    }
}
