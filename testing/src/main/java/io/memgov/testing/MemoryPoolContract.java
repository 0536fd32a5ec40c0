package io.memgov.testing;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The promises of {@link MemoryPool} (and of {@link ResizableMemoryPool}) as tests. A pool policy gets the whole suite
 * with one small subclass:
 *
 * <pre>{@code
 * final class MyMemoryPoolContractTest
 *         extends MemoryPoolContract
 * {
 *     @Override
 *     protected MemoryPool newPool(long maxBytes)
 *     {
 *         TestingNodeContext context = TestingNodeContext.builder().heapBytes(maxBytes).poolBytes(maxBytes).build();
 *         return new MyPoolFactory().create(PolicyConfig.empty(), context).generalPool();
 *     }
 *
 *     @Override
 *     protected boolean isResizable()
 *     {
 *         return true;
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: a refused {@code tryReserve}/{@code tryReserveRevocable} and a call that throws change no counter;
 * a reservation over the budget is recorded and returns a pending future; blocked callers share one future, which
 * completes when free bytes become positive and never before (with real threads blocked on it); frees over what is
 * held and negative or null arguments are refused; the snapshot's per-query, per-task and per-tag figures add up to
 * the totals; listeners are told after every change, and one that throws breaks nothing; {@code forgetQuery} keeps
 * what is still held; eight threads of random calls leave every counter exact, and racing tries never over-commit.
 * A {@linkplain #isResizable() resizable} pool also wakes blocked callers when it grows and never fails when it shrinks.
 *
 * <p>Test methods are public so that a subclass can override one to disable it ({@code @Disabled("why")}) while a
 * known defect is fixed. The concurrency checks run for about a second each. Budgets are small (at most 10 000 bytes).
 *
 * @since 1.0
 */
public abstract class MemoryPoolContract
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");
    private static final QueryId Q3 = QueryId.of("q3");
    private static final TaskId T1 = TaskId.of(Q1, "0");
    private static final TaskId T1B = TaskId.of(Q1, "1");
    private static final TaskId T2 = TaskId.of(Q2, "0");
    private static final TaskId T2B = TaskId.of(Q2, "1");
    private static final TaskId T3 = TaskId.of(Q3, "0");
    private static final String AGG = "HashAggregation";
    private static final String SORT = "OrderBy";

    /**
     * A new, empty pool whose budget is {@code maxBytes}, and whose own admission rules (if any) let every reservation
     * within that budget through. Called once or more per test.
     *
     * @param maxBytes at least 1, at most 10 000
     */
    protected abstract MemoryPool newPool(long maxBytes);

    /** Whether {@link #newPool} returns a {@link ResizableMemoryPool}; the resizing checks run only for those. */
    protected boolean isResizable()
    {
        return false;
    }

    @Test
    public void aNewPoolIsEmptyWithTheGivenBudget()
    {
        MemoryPool pool = newPool(100);

        assertThat(pool.id()).isNotNull();
        assertThat(pool.maxBytes()).isEqualTo(100);
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(pool.freeBytes()).isEqualTo(100);
        assertThat(pool.queryReservedBytes(Q1)).isZero();
        assertThat(pool.queryRevocableBytes(Q1)).isZero();
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), 100));
    }

    @Test
    public void implementsTheResizableRoleExactlyWhenItSaysSo()
    {
        // the engine finds the role with instanceof: a pool that implements it by accident gets resized
        assertThat(newPool(100))
                .as("isResizable() is %s", isResizable())
                .matches(pool -> pool instanceof ResizableMemoryPool == isResizable());
    }

    @Test
    public void aReservationWithinTheBudgetIsRecordedAndDoesNotBlock()
    {
        MemoryPool pool = newPool(100);

        MemoryFuture future = pool.reserve(T1, AGG, 40);

        assertThat(future).isDone();
        assertThat(pool.reservedBytes()).isEqualTo(40);
        assertThat(pool.freeBytes()).isEqualTo(60);
        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(40);
    }

    @Test
    public void aReservationThatLeavesNoFreeBytesBlocks()
    {
        // free bytes must stay positive for a caller to go on: filling the pool exactly makes the next one wait
        MemoryPool pool = newPool(100);

        MemoryFuture future = pool.reserve(T1, AGG, 100);

        assertThat(future).isNotDone();
        assertThat(pool.reservedBytes()).isEqualTo(100);
        assertThat(pool.freeBytes()).isZero();
    }

    @Test
    public void aReservationOverTheBudgetIsRecordedAndReturnsAPendingFuture()
    {
        // Trino's semantics: a plain reservation is never refused for lack of space; the caller waits instead
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 60);

        MemoryFuture future = pool.reserve(T2, AGG, 70);

        assertThat(future).isNotDone();
        assertThat(pool.reservedBytes()).isEqualTo(130);
        assertThat(pool.freeBytes()).isEqualTo(-30);
        assertThat(pool.queryReservedBytes(Q2)).isEqualTo(70);
        assertThat(pool.info().taskMemoryReservations()).containsEntry(T2, 70L);
    }

    @Test
    public void aRevocableReservationOverTheBudgetIsRecordedAndReturnsAPendingFuture()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 60);

        MemoryFuture future = pool.reserveRevocable(T2, 70);

        assertThat(future).isNotDone();
        assertThat(pool.reservedRevocableBytes()).isEqualTo(70);
        assertThat(pool.freeBytes()).isEqualTo(-30);
        assertThat(pool.queryRevocableBytes(Q2)).isEqualTo(70);
    }

    @Test
    public void tryReserveMayFillThePoolExactly()
    {
        MemoryPool pool = newPool(100);

        assertThat(pool.tryReserve(T1, AGG, 100)).isTrue();
        assertThat(pool.freeBytes()).isZero();
        assertThat(pool.tryReserveRevocable(T2, 1)).isFalse();
    }

    @Test
    public void aRefusedTryReserveChangesNothing()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 60);
        pool.reserveRevocable(T1, 10);

        assertRefusedAndUnchanged(pool, () -> pool.tryReserve(T2, AGG, 31));
        assertRefusedAndUnchanged(pool, () -> pool.tryReserve(T1, AGG, 31));
        assertRefusedAndUnchanged(pool, () -> pool.tryReserve(T1, SORT, 1000));
        assertThat(pool.tryReserve(T2, AGG, 30)).isTrue();
        assertThat(pool.freeBytes()).isZero();
    }

    @Test
    public void aRefusedTryReserveRevocableChangesNothing()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 60);
        pool.reserveRevocable(T1, 10);

        assertRefusedAndUnchanged(pool, () -> pool.tryReserveRevocable(T2, 31));
        assertRefusedAndUnchanged(pool, () -> pool.tryReserveRevocable(T1, 31));
        assertThat(pool.tryReserveRevocable(T2, 30)).isTrue();
        assertThat(pool.freeBytes()).isZero();
    }

    @Test
    public void revocableBytesCountAgainstTheBudget()
    {
        MemoryPool pool = newPool(100);
        pool.reserveRevocable(T1, 60);

        assertRefusedAndUnchanged(pool, () -> pool.tryReserve(T2, AGG, 41));
        assertThat(pool.tryReserve(T2, AGG, 40)).isTrue();
        assertThat(pool.freeBytes()).isZero();
    }

    @Test
    public void freesOverWhatIsHeldAreRefusedAndChangeNothing()
    {
        // an over-free would corrupt every figure a killer reads: the pool must refuse it whole
        MemoryPool pool = newPool(1000);
        pool.reserve(T1, AGG, 30);
        pool.reserve(T1, SORT, 10);
        pool.reserveRevocable(T1, 20);
        pool.reserve(T2, AGG, 5);

        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.free(T1, AGG, 31));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.free(T1, AGG, 41));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.free(T1, "Unknown", 1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.free(T1B, AGG, 1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.free(T3, AGG, 1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.freeRevocable(T1, 21));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.freeRevocable(T2, 1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.freeRevocable(T3, 1));

        pool.free(T1, AGG, 30);
        pool.free(T1, SORT, 10);
        pool.freeRevocable(T1, 20);
        pool.free(T2, AGG, 5);
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), 1000));
    }

    @Test
    public void negativeArgumentsAreRefusedAndChangeNothing()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 30);
        pool.reserveRevocable(T1, 20);

        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.reserve(T1, AGG, -1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.tryReserve(T1, AGG, -1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.free(T1, AGG, -1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.reserveRevocable(T1, -1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.tryReserveRevocable(T1, -1));
        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.freeRevocable(T1, -1));
    }

    @Test
    public void nullArgumentsAreRefusedAndChangeNothing()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 30);
        pool.reserveRevocable(T1, 20);

        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.reserve(null, AGG, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.reserve(T1, null, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.tryReserve(null, AGG, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.tryReserve(T1, null, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.free(null, AGG, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.free(T1, null, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.reserveRevocable(null, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.tryReserveRevocable(null, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.freeRevocable(null, 1));
        assertThrowsAndUnchanged(pool, RuntimeException.class, () -> pool.addListener(null));
    }

    @Test
    public void zeroBytesChangeNothing()
    {
        MemoryPool pool = newPool(100);
        PoolState before = PoolState.of(pool);

        assertThat(pool.reserve(T1, AGG, 0)).isDone();
        assertThat(pool.tryReserve(T1, AGG, 0)).isTrue();
        assertThat(pool.reserveRevocable(T1, 0)).isDone();
        assertThat(pool.tryReserveRevocable(T1, 0)).isTrue();
        // nothing is held, yet freeing nothing is no error
        pool.free(T2, AGG, 0);
        pool.freeRevocable(T2, 0);

        assertThat(PoolState.of(pool)).isEqualTo(before);
    }

    @Test
    public void blockedCallersShareOneFuture()
    {
        // one future for all: a pool that hands out a future per caller must complete each, and leaks the ones it forgets
        MemoryPool pool = newPool(100);

        MemoryFuture first = pool.reserve(T1, AGG, 100);
        MemoryFuture second = pool.reserve(T2, AGG, 10);
        MemoryFuture revocable = pool.reserveRevocable(T2, 5);

        assertThat(first).isNotDone();
        assertThat(second).isSameAs(first);
        assertThat(revocable).isSameAs(first);
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    public void theFutureCompletesWhenFreeBytesBecomePositiveAndNeverBefore()
            throws InterruptedException
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 70);
        pool.reserveRevocable(T1, 20);
        MemoryFuture future = pool.reserve(T2, AGG, 20);
        assertThat(future).isNotDone();
        assertThat(pool.freeBytes()).isEqualTo(-10);
        Waiters waiters = Waiters.blockOn(future, 3);

        pool.free(T2, AGG, 5);
        assertThat(pool.freeBytes()).isEqualTo(-5);
        assertThat(future).as("completed while free bytes were -5").isNotDone();
        pool.freeRevocable(T1, 5);
        assertThat(pool.freeBytes()).isZero();
        assertThat(future).as("completed while free bytes were 0").isNotDone();
        assertThat(waiters.released()).isZero();

        pool.free(T1, AGG, 1);

        assertThat(waiters.awaitAllReleased()).as("every blocked thread is released once a byte is free").isTrue();
        assertThat(future).isCompleted();
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    public void freeingRevocableMemoryWakesBlockedCallers()
            throws InterruptedException
    {
        MemoryPool pool = newPool(100);
        pool.reserveRevocable(T1, 60);
        MemoryFuture future = pool.reserve(T2, AGG, 50);
        Waiters waiters = Waiters.blockOn(future, 2);

        pool.freeRevocable(T1, 11);

        assertThat(waiters.awaitAllReleased()).isTrue();
        assertThat(future).isCompleted();
    }

    @Test
    public void aCallerThatBlocksAfterTheFutureCompletedGetsAPendingOne()
    {
        MemoryPool pool = newPool(100);
        MemoryFuture first = pool.reserve(T1, AGG, 100);
        pool.free(T1, AGG, 10);
        assertThat(first).isCompleted();

        MemoryFuture second = pool.reserve(T2, AGG, 20);

        assertThat(second).isNotDone();
        assertThat(pool.reserve(T2, SORT, 1)).isSameAs(second);
    }

    @Test
    public void theSnapshotsFiguresAddUpToTheTotals()
    {
        MemoryPool pool = newPool(10_000);
        pool.reserve(T1, AGG, 100);
        pool.reserve(T1, SORT, 50);
        pool.reserve(T1B, AGG, 25);
        pool.reserve(T2, AGG, 200);
        pool.reserveRevocable(T1, 30);
        pool.reserveRevocable(T2, 70);
        pool.reserveRevocable(T2B, 5);
        pool.free(T1B, AGG, 25);

        MemoryPoolInfo info = pool.info();

        assertThat(info.poolId()).isEqualTo(pool.id());
        assertThat(info.maxBytes()).isEqualTo(10_000);
        assertThat(info.reservedBytes()).isEqualTo(pool.reservedBytes()).isEqualTo(350);
        assertThat(info.reservedRevocableBytes()).isEqualTo(pool.reservedRevocableBytes()).isEqualTo(105);
        assertThat(info.freeBytes()).isEqualTo(pool.freeBytes());
        // only non-zero entries: the task that freed everything is gone
        assertThat(info.queryMemoryReservations()).isEqualTo(Map.of(Q1, 150L, Q2, 200L));
        assertThat(info.taskMemoryReservations()).isEqualTo(Map.of(T1, 150L, T2, 200L));
        assertThat(info.queryMemoryRevocableReservations()).isEqualTo(Map.of(Q1, 30L, Q2, 75L));
        assertThat(info.taskRevocableMemoryReservations()).isEqualTo(Map.of(T1, 30L, T2, 70L, T2B, 5L));
        assertThat(info.queryMemoryAllocations().get(Q1)).containsExactly(new MemoryAllocation(AGG, 100), new MemoryAllocation(SORT, 50));
        assertThat(info.queryMemoryAllocations().get(Q2)).containsExactly(new MemoryAllocation(AGG, 200));
        assertThat(sum(info.queryMemoryReservations())).isEqualTo(info.reservedBytes());
        assertThat(sum(info.taskMemoryReservations())).isEqualTo(info.reservedBytes());
        assertThat(sum(info.queryMemoryRevocableReservations())).isEqualTo(info.reservedRevocableBytes());
        assertThat(sum(info.taskRevocableMemoryReservations())).isEqualTo(info.reservedRevocableBytes());
        info.queryMemoryAllocations().forEach((query, allocations) -> assertThat(allocations.stream().mapToLong(MemoryAllocation::allocationBytes).sum())
                .as("allocations of %s", query)
                .isEqualTo(info.queryReservedBytes(query)));
    }

    @Test
    public void queryFiguresFollowReservationsAndFrees()
    {
        MemoryPool pool = newPool(1000);
        pool.reserve(T1, AGG, 10);
        pool.tryReserve(T1B, SORT, 5);
        pool.reserveRevocable(T1, 7);
        pool.tryReserveRevocable(T1B, 3);
        pool.reserve(T2, AGG, 100);

        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(15);
        assertThat(pool.queryRevocableBytes(Q1)).isEqualTo(10);
        assertThat(pool.queryReservedBytes(Q2)).isEqualTo(100);
        assertThat(pool.queryRevocableBytes(Q2)).isZero();
        assertThat(pool.queryReservedBytes(Q3)).isZero();

        pool.free(T1, AGG, 4);
        pool.freeRevocable(T1B, 3);

        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(11);
        assertThat(pool.queryRevocableBytes(Q1)).isEqualTo(7);
        assertThat(pool.info().queryReservedBytes(Q1)).isEqualTo(11);
        assertThat(pool.info().queryRevocableBytes(Q1)).isEqualTo(7);
    }

    @Test
    public void listenersAreToldAfterEveryChange()
    {
        MemoryPool pool = newPool(100);
        List<long[]> seen = new CopyOnWriteArrayList<>();
        List<MemoryPool> told = new CopyOnWriteArrayList<>();
        pool.addListener(changed -> {
            told.add(changed);
            seen.add(new long[] {changed.reservedBytes(), changed.reservedRevocableBytes()});
        });

        assertToldAfter(pool, seen, () -> pool.reserve(T1, AGG, 10), 10, 0);
        assertToldAfter(pool, seen, () -> pool.tryReserve(T1, AGG, 5), 15, 0);
        assertToldAfter(pool, seen, () -> pool.reserveRevocable(T1, 7), 15, 7);
        assertToldAfter(pool, seen, () -> pool.tryReserveRevocable(T1, 3), 15, 10);
        assertToldAfter(pool, seen, () -> pool.free(T1, AGG, 15), 0, 10);
        assertToldAfter(pool, seen, () -> pool.freeRevocable(T1, 10), 0, 0);
        // the pool the listener was added to, not one it decorates: listeners read it back
        assertThat(told).allSatisfy(changed -> assertThat(changed).isSameAs(pool));
    }

    @Test
    public void aListenerThatThrowsBreaksNeitherTheCallNorTheOtherListeners()
    {
        MemoryPool pool = newPool(100);
        AtomicLong calls = new AtomicLong();
        pool.addListener(changed -> {
            throw new IllegalStateException("a broken listener (thrown on purpose by the contract suite)");
        });
        pool.addListener(changed -> calls.incrementAndGet());

        pool.reserve(T1, AGG, 10);
        pool.free(T1, AGG, 4);

        assertThat(pool.reservedBytes()).isEqualTo(6);
        assertThat(calls.get()).isGreaterThanOrEqualTo(2);
    }

    @Test
    public void forgetQueryKeepsWhatTheQueryStillHolds()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 30);
        pool.reserveRevocable(T1, 10);

        pool.forgetQuery(Q1);

        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(30);
        assertThat(pool.queryRevocableBytes(Q1)).isEqualTo(10);
        assertThat(pool.info().taskMemoryReservations()).containsEntry(T1, 30L);
        pool.free(T1, AGG, 30);
        pool.freeRevocable(T1, 10);
        pool.forgetQuery(Q1);
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), 100));
        // a forgotten query id may come back (a retry on the same node) and is counted from zero
        pool.reserve(T1, AGG, 5);
        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(5);
        pool.free(T1, AGG, 5);
        assertThat(pool.reservedBytes()).isZero();
    }

    @Test
    public void forgettingAnUnknownQueryChangesNothing()
    {
        MemoryPool pool = newPool(100);
        pool.reserve(T1, AGG, 30);
        PoolState before = PoolState.of(pool);

        pool.forgetQuery(Q3);

        assertThat(PoolState.of(pool)).isEqualTo(before);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    public void concurrentRandomCallsLeaveEveryCounterExact()
            throws InterruptedException
    {
        // eight threads of every kind of call on shared queries; each thread knows what it holds, so the sums are known
        int threads = 8;
        MemoryPool pool = newPool(10_000);
        List<Holdings> holdings = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Holdings holding = new Holdings(TaskId.of(QueryId.of("q" + (i % 3)), "t" + i));
            holdings.add(holding);
        }
        Workers.run("pool-random", threads + 1, (worker, deadline) -> {
            if (worker == threads) {
                // a reader: snapshots taken during the storm must be valid (MemoryPoolInfo checks its own figures)
                while (System.nanoTime() < deadline) {
                    MemoryPoolInfo info = pool.info();
                    assertThat(info.reservedBytes()).isNotNegative();
                    assertThat(pool.queryReservedBytes(QueryId.of("q0"))).isNotNegative();
                }
                return;
            }
            Holdings mine = holdings.get(worker);
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (System.nanoTime() < deadline) {
                mine.randomCall(pool, random);
            }
        });
        long user = holdings.stream().mapToLong(Holdings::userBytes).sum();
        long revocable = holdings.stream().mapToLong(holding -> holding.revocable).sum();
        assertThat(pool.reservedBytes()).isEqualTo(user);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(revocable);
        assertThat(pool.freeBytes()).isEqualTo(10_000 - user - revocable);
        MemoryPoolInfo info = pool.info();
        Map<QueryId, Long> userByQuery = holdings.stream().filter(holding -> holding.userBytes() > 0)
                .collect(Collectors.groupingBy(holding -> holding.task.queryId(), Collectors.summingLong(Holdings::userBytes)));
        Map<QueryId, Long> revocableByQuery = holdings.stream().filter(holding -> holding.revocable > 0)
                .collect(Collectors.groupingBy(holding -> holding.task.queryId(), Collectors.summingLong(holding -> holding.revocable)));
        assertThat(info.queryMemoryReservations()).isEqualTo(userByQuery);
        assertThat(info.queryMemoryRevocableReservations()).isEqualTo(revocableByQuery);
        for (Holdings holding : holdings) {
            assertThat(info.taskMemoryReservations().getOrDefault(holding.task, 0L)).as("user bytes of %s", holding.task).isEqualTo(holding.userBytes());
            assertThat(info.taskRevocableMemoryReservations().getOrDefault(holding.task, 0L)).as("revocable bytes of %s", holding.task).isEqualTo(holding.revocable);
        }
        userByQuery.forEach((query, bytes) -> assertThat(pool.queryReservedBytes(query)).as("user bytes of %s", query).isEqualTo(bytes));

        holdings.forEach(holding -> holding.freeAll(pool));
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), 10_000));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    public void racingTriesNeverOverCommit()
            throws InterruptedException
    {
        // tryReserveRevocable's javadoc: two callers racing for the last bytes cannot both pass, whatever kind of memory
        // each asks for. Two threads try for 60 of 100 bytes at the same instant, round after round; with the pool at
        // rest between the tries and the frees, what the tries took must fit. The window of such a race is a few
        // instructions wide: the threads meet at a spinning barrier, as threads released by a blocking one rarely
        // collide in it
        long maxBytes = 100;
        MemoryPool pool = newPool(maxBytes);
        SpinBarrier barrier = new SpinBarrier(2);
        // over-commits by what the two tries asked for: [user, user], [user, revocable], [revocable, revocable]
        AtomicLongArray overCommits = new AtomicLongArray(3);
        AtomicIntegerArray revocableTries = new AtomicIntegerArray(2);
        AtomicLong rounds = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Workers.run("pool-tries", 2, (worker, deadline) -> {
            TaskId task = TaskId.of(QueryId.of("q" + worker), "0");
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (true) {
                boolean user = random.nextBoolean();
                revocableTries.set(worker, user ? 0 : 1);
                boolean took = user ? pool.tryReserve(task, AGG, 60) : pool.tryReserveRevocable(task, 60);
                barrier.await();
                if (worker == 0) {
                    rounds.incrementAndGet();
                    if (pool.reservedBytes() + pool.reservedRevocableBytes() > maxBytes) {
                        overCommits.incrementAndGet(revocableTries.get(0) + revocableTries.get(1));
                    }
                    stop.set(System.nanoTime() > deadline);
                }
                barrier.await();
                if (took) {
                    if (user) {
                        pool.free(task, AGG, 60);
                    }
                    else {
                        pool.freeRevocable(task, 60);
                    }
                }
                barrier.await();
                if (stop.get()) {
                    return;
                }
            }
        });

        assertThat(rounds.get()).isPositive();
        assertThat(new long[] {overCommits.get(0), overCommits.get(1), overCommits.get(2)})
                .as("rounds in which two tries both took 60 of 100 bytes, of %s; by kind: [user and user, user and revocable, revocable and revocable]", rounds.get())
                .containsOnly(0);
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), maxBytes));
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    public void growingTheBudgetWakesBlockedCallers()
            throws InterruptedException
    {
        ResizableMemoryPool pool = resizablePool(100);
        MemoryFuture future = pool.reserve(T1, AGG, 120);
        Waiters waiters = Waiters.blockOn(future, 2);

        pool.setMaxBytes(120);
        assertThat(future).as("completed while free bytes were 0").isNotDone();
        pool.setMaxBytes(121);

        assertThat(waiters.awaitAllReleased()).isTrue();
        assertThat(future).isCompleted();
        assertThat(pool.maxBytes()).isEqualTo(121);
        assertThat(pool.info().maxBytes()).isEqualTo(121);
    }

    @Test
    public void shrinkingTheBudgetNeverFailsAndReleasesNothing()
    {
        ResizableMemoryPool pool = resizablePool(100);
        pool.reserve(T1, AGG, 60);
        pool.reserveRevocable(T1, 10);

        pool.setMaxBytes(10);

        assertThat(pool.maxBytes()).isEqualTo(10);
        assertThat(pool.reservedBytes()).isEqualTo(60);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(10);
        assertThat(pool.freeBytes()).isEqualTo(-60);
        assertThat(pool.info().maxBytes()).isEqualTo(10);
        assertThat(pool.tryReserve(T2, AGG, 1)).isFalse();
        assertThat(pool.reserve(T2, AGG, 1)).isNotDone();
        pool.setMaxBytes(0);
        assertThat(pool.freeBytes()).isEqualTo(-71);
    }

    @Test
    public void aNegativeBudgetIsRefusedAndChangesNothing()
    {
        ResizableMemoryPool pool = resizablePool(100);
        pool.reserve(T1, AGG, 60);

        assertThrowsAndUnchanged(pool, IllegalArgumentException.class, () -> pool.setMaxBytes(-1));
    }

    private ResizableMemoryPool resizablePool(long maxBytes)
    {
        assumeThat(isResizable()).as("the pool is not resizable").isTrue();
        return (ResizableMemoryPool) newPool(maxBytes);
    }

    private static void assertRefusedAndUnchanged(MemoryPool pool, BooleanSupplier tryCall)
    {
        PoolState before = PoolState.of(pool);
        assertThat(tryCall.getAsBoolean()).as("the try was refused").isFalse();
        assertThat(PoolState.of(pool)).as("a refused try changes nothing").isEqualTo(before);
    }

    private static void assertThrowsAndUnchanged(MemoryPool pool, Class<? extends Throwable> type, ThrowingCallable call)
    {
        PoolState before = PoolState.of(pool);
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).as("the call throws").isInstanceOf(type);
        if (type == RuntimeException.class) {
            // the SPI says "never null" without naming the exception: either of the usual two is a clear refusal
            assertThat(thrown).isInstanceOfAny(NullPointerException.class, IllegalArgumentException.class);
        }
        assertThat(PoolState.of(pool)).as("a call that throws (%s) changes nothing", thrown).isEqualTo(before);
    }

    private static void assertToldAfter(MemoryPool pool, List<long[]> seen, Runnable change, long reserved, long revocable)
    {
        int before = seen.size();
        change.run();
        assertThat(seen.size()).as("listener calls after a change").isGreaterThan(before);
        long[] last = seen.get(seen.size() - 1);
        assertThat(last).as("what the listener saw: reserved and revocable bytes after the change").containsExactly(reserved, revocable);
    }

    private static long sum(Map<?, Long> values)
    {
        return values.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Everything a caller can read from a pool, to compare before and after a call that must change nothing. */
    private record PoolState(
            long maxBytes,
            long reservedBytes,
            long reservedRevocableBytes,
            long freeBytes,
            Map<QueryId, Long> queryReserved,
            Map<QueryId, Long> queryRevocable,
            MemoryPoolInfo info,
            Map<QueryId, Map<String, Long>> allocations)
    {
        static PoolState of(MemoryPool pool)
        {
            MemoryPoolInfo info = pool.info();
            List<QueryId> queries = List.of(Q1, Q2, Q3);
            // allocations compared as maps: the order of equal allocations is not part of the contract
            Map<QueryId, Map<String, Long>> allocations = info.queryMemoryAllocations().entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, entry -> entry.getValue().stream()
                            .collect(Collectors.toMap(MemoryAllocation::tag, MemoryAllocation::allocationBytes))));
            MemoryPoolInfo withoutAllocations = new MemoryPoolInfo(info.poolId(), info.maxBytes(), info.reservedBytes(), info.reservedRevocableBytes(),
                    info.queryMemoryReservations(), Map.of(), info.queryMemoryRevocableReservations(), info.taskMemoryReservations(), info.taskRevocableMemoryReservations());
            return new PoolState(
                    pool.maxBytes(),
                    pool.reservedBytes(),
                    pool.reservedRevocableBytes(),
                    pool.freeBytes(),
                    queries.stream().collect(Collectors.toMap(Function.identity(), pool::queryReservedBytes)),
                    queries.stream().collect(Collectors.toMap(Function.identity(), pool::queryRevocableBytes)),
                    withoutAllocations,
                    allocations);
        }
    }

    /** What one worker of the random-call check holds in its task, by tag, and revocable. Used by one thread at a time. */
    private static final class Holdings
    {
        private static final List<String> TAGS = List.of(AGG, SORT);
        private static final long MAX_HELD = 1_500;

        private final TaskId task;
        private final Map<String, Long> user = new HashMap<>();
        private long revocable;

        Holdings(TaskId task)
        {
            this.task = task;
        }

        long userBytes()
        {
            return user.values().stream().mapToLong(Long::longValue).sum();
        }

        void randomCall(MemoryPool pool, ThreadLocalRandom random)
        {
            String tag = TAGS.get(random.nextInt(TAGS.size()));
            long bytes = random.nextLong(1, 200);
            int call = random.nextInt(8);
            if (userBytes() + revocable > MAX_HELD) {
                // keep the pool near its budget, where blocking and refusals happen, without running away from it
                call = 6 + random.nextInt(2);
            }
            switch (call) {
                case 0, 1 -> {
                    pool.reserve(task, tag, bytes);
                    user.merge(tag, bytes, Long::sum);
                }
                case 2 -> {
                    if (pool.tryReserve(task, tag, bytes)) {
                        user.merge(tag, bytes, Long::sum);
                    }
                }
                case 3 -> {
                    pool.reserveRevocable(task, bytes);
                    revocable += bytes;
                }
                case 4 -> {
                    if (pool.tryReserveRevocable(task, bytes)) {
                        revocable += bytes;
                    }
                }
                case 5 -> {
                    // more than the task holds: refused whatever other threads of the query do meanwhile
                    long held = userBytes();
                    assertThatThrownBy(() -> pool.free(task, tag, held + 1)).isInstanceOf(IllegalArgumentException.class);
                }
                case 6 -> {
                    long held = user.getOrDefault(tag, 0L);
                    long freed = Math.min(held, bytes);
                    pool.free(task, tag, freed);
                    user.put(tag, held - freed);
                }
                default -> {
                    long freed = Math.min(revocable, bytes);
                    pool.freeRevocable(task, freed);
                    revocable -= freed;
                }
            }
        }

        void freeAll(MemoryPool pool)
        {
            user.forEach((tag, bytes) -> pool.free(task, tag, bytes));
            user.clear();
            pool.freeRevocable(task, revocable);
            revocable = 0;
        }
    }

    /** A barrier whose parties spin, so that they leave it within nanoseconds of each other. */
    private static final class SpinBarrier
    {
        private final int parties;
        private final AtomicLong arrived = new AtomicLong();

        SpinBarrier(int parties)
        {
            this.parties = parties;
        }

        /** Each party calls this once per phase; the phases are counted, so the barrier is reused at once. */
        void await()
        {
            long phase = arrived.incrementAndGet();
            long target = ((phase + parties - 1) / parties) * parties;
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (arrived.get() < target) {
                if (System.nanoTime() > giveUp) {
                    throw new AssertionError("the other party did not reach the barrier within 10 s (it failed or hangs)");
                }
                Thread.onSpinWait();
            }
        }
    }

    /** Threads blocked on a future, each released when it completes. */
    private static final class Waiters
    {
        private final CountDownLatch released;
        private final int count;

        private Waiters(int count)
        {
            this.count = count;
            this.released = new CountDownLatch(count);
        }

        static Waiters blockOn(MemoryFuture future, int count)
                throws InterruptedException
        {
            Waiters waiters = new Waiters(count);
            CountDownLatch started = new CountDownLatch(count);
            for (int i = 0; i < count; i++) {
                Thread thread = new Thread(() -> {
                    started.countDown();
                    future.join();
                    waiters.released.countDown();
                }, "pool-waiter-" + i);
                thread.setDaemon(true);
                thread.start();
            }
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            return waiters;
        }

        long released()
        {
            return count - released.getCount();
        }

        boolean awaitAllReleased()
                throws InterruptedException
        {
            return released.await(5, TimeUnit.SECONDS);
        }
    }
}
