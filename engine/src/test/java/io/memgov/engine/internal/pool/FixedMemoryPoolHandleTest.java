package io.memgov.engine.internal.pool;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link FixedMemoryPool.Handle}, the cells the engine's hot path reserves in: the same counters, checks and snapshots
 * as the pool's own calls, and still right when the query's bookkeeping is forgotten under it.
 */
final class FixedMemoryPoolHandleTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final TaskId Q1T1 = TaskId.of(Q1, "t1");
    private static final TaskId Q1T2 = TaskId.of(Q1, "t2");

    @Test
    void aHandleKeepsTheSameCountersAsThePoolCalls()
    {
        FixedMemoryPool viaHandles = new FixedMemoryPool("general", 1000);
        FixedMemoryPool viaPool = new FixedMemoryPool("general", 1000);
        FixedMemoryPool.Handle agg = viaHandles.handle(Q1T1, "HashAggregation");
        FixedMemoryPool.Handle sort = viaHandles.handle(Q1T2, "OrderBy");

        assertThat(agg.reserve(300).isDone()).isEqualTo(viaPool.reserve(Q1T1, "HashAggregation", 300).isDone());
        assertThat(sort.tryReserve(200)).isEqualTo(viaPool.tryReserve(Q1T2, "OrderBy", 200)).isTrue();
        assertThat(agg.reserveRevocable(50).isDone()).isEqualTo(viaPool.reserveRevocable(Q1T1, 50).isDone());
        assertThat(sort.tryReserveRevocable(25)).isEqualTo(viaPool.tryReserveRevocable(Q1T2, 25)).isTrue();
        agg.free(100);
        viaPool.free(Q1T1, "HashAggregation", 100);
        sort.freeRevocable(5);
        viaPool.freeRevocable(Q1T2, 5);

        MemoryPoolInfo info = viaHandles.info();
        assertThat(info).isEqualTo(viaPool.info());
        assertThat(info.queryReservedBytes(Q1)).isEqualTo(400);
        assertThat(info.queryRevocableBytes(Q1)).isEqualTo(70);
        assertThat(info.taskMemoryReservations()).isEqualTo(Map.of(Q1T1, 200L, Q1T2, 200L));
        assertThat(info.queryMemoryAllocations().get(Q1)).containsExactlyInAnyOrder(new MemoryAllocation("HashAggregation", 200), new MemoryAllocation("OrderBy", 200));
        assertThat(viaHandles.queryReservedBytes(Q1)).isEqualTo(400);
        assertThat(viaHandles.queryRevocableBytes(Q1)).isEqualTo(70);
        assertThat(viaHandles.freeBytes()).isEqualTo(1000 - 400 - 70);
    }

    @Test
    void aHandleAndThePoolCallsShareCells()
    {
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        FixedMemoryPool.Handle handle = pool.handle(Q1T1, "A");

        handle.reserve(10);
        pool.free(Q1T1, "A", 4);
        pool.reserve(Q1T1, "A", 3);
        handle.free(9);

        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.info().queryMemoryReservations()).isEmpty();
    }

    @Test
    void aFreeRefusedThroughAHandleChangesNothing()
    {
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        FixedMemoryPool.Handle a = pool.handle(Q1T1, "A");
        FixedMemoryPool.Handle b = pool.handle(Q1T1, "B");
        a.reserve(10);
        b.reserve(5);
        a.reserveRevocable(7);
        MemoryPoolInfo before = pool.info();

        // the task holds 15, but tag B only 5: the task's cell, taken first, must be given back
        assertThatThrownBy(() -> b.free(6))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("New counter value is negative")
                .hasMessageContaining("tag B of query q1");
        assertThatThrownBy(() -> pool.handle(Q1T2, "A").free(1))
                .hasMessageContaining("task " + Q1T2);
        assertThatThrownBy(() -> a.freeRevocable(8))
                .hasMessageContaining("revocable memory of task " + Q1T1);
        assertThatThrownBy(() -> a.reserve(-1)).hasMessage("'bytes' is negative: -1");

        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.reservedBytes()).isEqualTo(15);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(7);
    }

    @Test
    void aTryThroughAHandleThatWouldOverCommitChangesNothing()
    {
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);
        FixedMemoryPool.Handle handle = pool.handle(Q1T1, "A");

        assertThat(handle.tryReserve(60)).isTrue();
        assertThat(handle.tryReserveRevocable(40)).isTrue();
        MemoryPoolInfo full = pool.info();
        assertThat(handle.tryReserve(1)).isFalse();
        assertThat(handle.tryReserveRevocable(1)).isFalse();
        assertThat(pool.info()).isEqualTo(full);
        assertThat(handle.reserve(1).isDone()).isFalse();
    }

    @Test
    void aHandleOfAForgottenQueryGoesStaleAndStillCountsWhereSnapshotsLook()
    {
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        FixedMemoryPool.Handle handle = pool.handle(Q1T1, "A");
        handle.reserve(10);
        pool.forgetQuery(Q1);
        assertThat(handle.isStale()).as("a query holding memory is kept").isFalse();

        handle.free(10);
        pool.forgetQuery(Q1);
        assertThat(handle.isStale()).isTrue();

        // a caller that kept the stale handle must not reserve into cells no snapshot reads
        handle.reserve(20);
        handle.reserveRevocable(3);
        assertThat(pool.info().queryReservedBytes(Q1)).isEqualTo(20);
        assertThat(pool.info().taskMemoryReservations()).isEqualTo(Map.of(Q1T1, 20L));
        assertThat(pool.info().queryRevocableBytes(Q1)).isEqualTo(3);
        handle.free(20);
        handle.freeRevocable(3);
        assertThat(pool.info().queryMemoryReservations()).isEmpty();
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
    }

    @Test
    void reservationsRacingWithForgetQueryAreNeverLost()
            throws Exception
    {
        // each round: one thread reserves and frees through a handle taken before, another keeps forgetting the query;
        // whatever interleaving, the snapshot must show exactly what is held
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 200; round++) {
                FixedMemoryPool pool = new FixedMemoryPool("general", 1L << 40);
                FixedMemoryPool.Handle handle = pool.handle(Q1T1, "A");
                AtomicBoolean done = new AtomicBoolean();
                CountDownLatch start = new CountDownLatch(1);
                Future<?> forgetter = executor.submit(() -> {
                    start.await();
                    while (!done.get()) {
                        pool.forgetQuery(Q1);
                    }
                    return null;
                });
                Future<?> reserver = executor.submit(() -> {
                    start.await();
                    for (int i = 0; i < 500; i++) {
                        handle.reserve(8);
                        handle.free(8);
                    }
                    handle.reserve(8);
                    done.set(true);
                    return null;
                });
                start.countDown();
                reserver.get(30, TimeUnit.SECONDS);
                forgetter.get(30, TimeUnit.SECONDS);

                assertThat(pool.reservedBytes()).isEqualTo(8);
                assertThat(pool.info().queryReservedBytes(Q1)).as("round %s", round).isEqualTo(8);
                assertThat(pool.info().taskMemoryReservations()).isEqualTo(Map.of(Q1T1, 8L));
                assertThat(pool.info().queryMemoryAllocations().get(Q1)).containsExactly(new MemoryAllocation("A", 8));
            }
        }
        finally {
            executor.shutdownNow();
        }
    }

    @Test
    void concurrentHandlesOfOneQueryStayExact()
            throws Exception
    {
        FixedMemoryPool pool = new FixedMemoryPool("general", 1L << 40);
        int threads = 4;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            CountDownLatch start = new CountDownLatch(1);
            for (int thread = 0; thread < threads; thread++) {
                // two threads per task, two per tag: every cell is shared by two writers
                FixedMemoryPool.Handle handle = pool.handle(thread % 2 == 0 ? Q1T1 : Q1T2, thread < 2 ? "A" : "B");
                futures.add(executor.submit(() -> {
                    start.await();
                    for (int i = 0; i < 20_000; i++) {
                        handle.reserve(3);
                        if (!handle.tryReserve(5)) {
                            throw new AssertionError("a pool of 1 TB refused 5 bytes");
                        }
                        handle.free(8);
                    }
                    handle.reserve(1);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
        }
        finally {
            executor.shutdownNow();
        }
        MemoryPoolInfo info = pool.info();
        assertThat(pool.reservedBytes()).isEqualTo(threads);
        assertThat(info.queryReservedBytes(Q1)).isEqualTo(threads);
        assertThat(info.taskMemoryReservations()).isEqualTo(Map.of(Q1T1, 2L, Q1T2, 2L));
        assertThat(info.queryMemoryAllocations().get(Q1)).containsExactlyInAnyOrder(new MemoryAllocation("A", 2), new MemoryAllocation("B", 2));
    }
}
