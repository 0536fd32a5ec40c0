package io.memgov.engine.internal.pool;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Scenarios 1-4 of trino-presto.md §5 (Trino's {@code TestMemoryPools}) against the built-in {@code fixed} pool.
 */
final class FixedMemoryPoolTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");
    private static final TaskId Q1T1 = TaskId.of(Q1, "t1");
    private static final TaskId Q1T2 = TaskId.of(Q1, "t2");
    private static final TaskId Q2T1 = TaskId.of(Q2, "t1");

    @Test
    void blockingFutureCannotBeCancelledAndCompletesWhenMemoryIsFreed()
    {
        // Scenario 1: the future is shared by every blocked caller, so one caller must not be able to cancel it
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);

        assertThat(pool.reserve(Q1T1, "test", 10)).isDone();
        MemoryFuture blocked = pool.reserve(Q1T1, "test", 95);
        assertThat(blocked).isNotDone();
        assertThat(pool.freeBytes()).isEqualTo(-5);

        assertThatThrownBy(() -> blocked.cancel(true))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("cancellation is not supported");
        assertThat(blocked).isNotDone();
        assertThat(blocked.isCancelled()).isFalse();

        pool.free(Q1T1, "test", 10);
        assertThat(pool.freeBytes()).isEqualTo(5);
        assertThat(blocked).isDone();
        assertThat(blocked.isCompletedExceptionally()).isFalse();
    }

    @Test
    void blockedCallersShareOneFuture()
    {
        // every blocked caller waits on the same future, so a single free wakes them all
        FixedMemoryPool pool = new FixedMemoryPool("general", 10);
        MemoryFuture first = pool.reserve(Q1T1, "a", 10);
        MemoryFuture second = pool.reserve(Q2T1, "b", 5);

        assertThat(first).isNotDone().isSameAs(second);
        pool.free(Q2T1, "b", 5);
        assertThat(first).isNotDone();
        pool.free(Q1T1, "a", 1);
        assertThat(first).isDone();
    }

    @Test
    void tryReserveFillsThePoolExactlyAndThenRefusesWithoutChangingAnything()
    {
        // Scenario 2: filling to free = 0 is allowed; one byte more is refused and leaves no trace
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);

        assertThat(pool.tryReserve(Q1T1, "test", 100)).isTrue();
        assertThat(pool.freeBytes()).isZero();
        MemoryPoolInfo before = pool.info();

        assertThat(pool.tryReserve(Q1T1, "test", 1)).isFalse();
        assertThat(pool.tryReserve(Q2T1, "other", 1)).isFalse();
        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.reservedBytes()).isEqualTo(100);
        assertThat(pool.queryReservedBytes(Q2)).isZero();

        // a zero try on a full pool changes nothing and succeeds
        assertThat(pool.tryReserve(Q1T1, "test", 0)).isTrue();
    }

    @Test
    void reserveThatReachesZeroFreeBytesIsPending()
    {
        // Scenario 2, last step: blocked means free <= 0, not free < 0
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);

        assertThat(pool.reserve(Q1T1, "test", 100)).isNotDone();
        assertThat(pool.freeBytes()).isZero();
    }

    @Test
    void tagsAreTrackedPerQueryAndDisappearAtZero()
    {
        // Scenario 3: the per-tag map is what "Top Consumers" and /v1/memory show
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);

        pool.reserve(Q1T1, "A", 10);
        pool.free(Q1T1, "A", 5);
        assertThat(allocations(pool)).isEqualTo(Map.of(Q1, List.of(new MemoryAllocation("A", 5))));

        pool.reserve(Q1T1, "B", 20);
        assertThat(allocations(pool)).isEqualTo(Map.of(Q1, List.of(new MemoryAllocation("B", 20), new MemoryAllocation("A", 5))));

        pool.free(Q1T1, "A", 5);
        assertThat(allocations(pool)).isEqualTo(Map.of(Q1, List.of(new MemoryAllocation("B", 20))));

        pool.free(Q1T1, "B", 20);
        assertThat(allocations(pool)).doesNotContainKey(Q1).isEmpty();
        assertThat(pool.info().queryMemoryReservations()).isEmpty();
    }

    @Test
    void reservationsAreTrackedPerTaskAndAFailedFreeChangesNothing()
    {
        // Scenario 4: a free that would drive a task negative must not corrupt any other counter on its way out
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        pool.reserve(Q1T1, "test", 10);
        pool.reserve(Q1T2, "test", 7);
        pool.reserve(Q2T1, "test", 9);

        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(17);
        assertThat(pool.queryReservedBytes(Q2)).isEqualTo(9);
        assertThat(pool.taskReservedBytes(Q1T1)).isEqualTo(10);
        assertThat(pool.info().taskMemoryReservations()).isEqualTo(Map.of(Q1T1, 10L, Q1T2, 7L, Q2T1, 9L));

        pool.free(Q1T1, "test", 2);
        MemoryPoolInfo before = pool.info();
        long reservedBefore = pool.reservedBytes();

        // the query (15) and the tag (15) could pay for 9; only the task (8) cannot
        assertThatThrownBy(() -> pool.free(Q1T1, "test", 9))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("New counter value is negative");
        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.reservedBytes()).isEqualTo(reservedBefore).isEqualTo(24);
        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(15);
        assertThat(pool.taskReservedBytes(Q1T1)).isEqualTo(8);
        assertThat(allocations(pool).get(Q1)).containsExactly(new MemoryAllocation("test", 15));

        // zeroed entries leave the snapshot
        pool.free(Q2T1, "test", 9);
        MemoryPoolInfo info = pool.info();
        assertThat(info.queryMemoryReservations()).isEqualTo(Map.of(Q1, 15L));
        assertThat(info.taskMemoryReservations()).isEqualTo(Map.of(Q1T1, 8L, Q1T2, 7L));
        assertThat(info.queryMemoryAllocations()).containsOnlyKeys(Q1);
    }

    @Test
    void aFreeRefusedByTheTagAfterTheTaskAcceptedRollsTheTaskBack()
    {
        // Scenario 4, second level: the task is decremented first; a tag that holds too little must undo that
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        pool.reserve(Q1T1, "A", 5);
        pool.reserve(Q1T1, "B", 5);
        MemoryPoolInfo before = pool.info();

        assertThatThrownBy(() -> pool.free(Q1T1, "A", 6))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("New counter value is negative");
        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.taskReservedBytes(Q1T1)).isEqualTo(10);
        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(10);
        assertThat(pool.reservedBytes()).isEqualTo(10);
    }

    @Test
    void freeingForAnUnknownTaskOrQueryFailsAndChangesNothing()
    {
        // a host bug (freeing through the wrong task) must be loud, not silently shift bytes between tasks
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        pool.reserve(Q1T1, "test", 10);
        MemoryPoolInfo before = pool.info();

        assertThatThrownBy(() -> pool.free(Q1T2, "test", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pool.free(Q2T1, "test", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pool.free(Q1T1, "other", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.reservedBytes()).isEqualTo(10);
    }

    @Test
    void revocableReservationsAreTrackedPerTaskAndAFailedFreeChangesNothing()
    {
        // Scenario 4 for revocable memory: same bookkeeping, its own counters
        FixedMemoryPool pool = new FixedMemoryPool("general", 1000);
        pool.reserveRevocable(Q1T1, 10);
        pool.reserveRevocable(Q1T2, 7);
        pool.reserveRevocable(Q2T1, 9);

        assertThat(pool.queryRevocableBytes(Q1)).isEqualTo(17);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(26);
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.info().taskRevocableMemoryReservations()).isEqualTo(Map.of(Q1T1, 10L, Q1T2, 7L, Q2T1, 9L));

        pool.freeRevocable(Q1T1, 2);
        MemoryPoolInfo before = pool.info();
        assertThatThrownBy(() -> pool.freeRevocable(Q1T1, 9))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("New counter value is negative");
        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(24);
        assertThat(pool.queryRevocableBytes(Q1)).isEqualTo(15);

        pool.freeRevocable(Q2T1, 9);
        MemoryPoolInfo info = pool.info();
        assertThat(info.queryMemoryRevocableReservations()).isEqualTo(Map.of(Q1, 15L));
        assertThat(info.taskRevocableMemoryReservations()).isEqualTo(Map.of(Q1T1, 8L, Q1T2, 7L));
        assertThat(info.taskMemoryReservations()).isEmpty();
    }

    @Test
    void revocableMemoryBlocksAndItsFreeUnblocks()
    {
        // revocable bytes count against free bytes, so they block callers like user bytes do
        FixedMemoryPool pool = new FixedMemoryPool("general", 10);
        pool.reserve(Q1T1, "user", 8);

        assertThat(pool.reserveRevocable(Q1T1, 1)).isDone();
        MemoryFuture blocked = pool.reserveRevocable(Q1T1, 1);
        assertThat(blocked).isNotDone();
        assertThat(pool.info().isBlocked()).isFalse();

        pool.freeRevocable(Q1T1, 1);
        assertThat(blocked).isDone();
    }

    @Test
    void negativeArgumentsAreRejected()
    {
        // a negative reserve would be a free that skips every check
        FixedMemoryPool pool = new FixedMemoryPool("general", 10);

        assertThatThrownBy(() -> pool.reserve(Q1T1, "t", -1)).hasMessage("'bytes' is negative: -1");
        assertThatThrownBy(() -> pool.tryReserve(Q1T1, "t", -1)).hasMessage("'bytes' is negative: -1");
        assertThatThrownBy(() -> pool.free(Q1T1, "t", -1)).hasMessage("'bytes' is negative: -1");
        assertThatThrownBy(() -> pool.reserveRevocable(Q1T1, -1)).hasMessage("'bytes' is negative: -1");
        assertThatThrownBy(() -> pool.freeRevocable(Q1T1, -1)).hasMessage("'bytes' is negative: -1");
        assertThatThrownBy(() -> new FixedMemoryPool("general", -1)).hasMessage("'maxBytes' is negative: -1");
        assertThat(pool.reservedBytes()).isZero();
    }

    @Test
    void raisingTheMaximumUnblocksWaiters()
    {
        // reserve mode changes the maximum at run time; waiters must not wait for a free that never comes
        FixedMemoryPool pool = new FixedMemoryPool("general", 10);
        MemoryFuture blocked = pool.reserve(Q1T1, "t", 10);
        assertThat(blocked).isNotDone();

        pool.setMaxBytes(11);
        assertThat(blocked).isDone();
        assertThat(pool.maxBytes()).isEqualTo(11);
    }

    @Test
    void listenersHearReservationsAndFrees()
    {
        // the revoking loop is driven by these events
        FixedMemoryPool pool = new FixedMemoryPool("general", 10);
        AtomicInteger events = new AtomicInteger();
        pool.addListener(ignored -> events.incrementAndGet());
        pool.addListener(ignored -> {
            throw new IllegalStateException("a broken listener must not break the pool");
        });

        pool.reserve(Q1T1, "t", 3);
        pool.tryReserve(Q1T1, "t", 3);
        pool.free(Q1T1, "t", 6);
        pool.reserveRevocable(Q1T1, 1);
        pool.freeRevocable(Q1T1, 1);

        assertThat(events).hasValue(5);
        assertThat(pool.reservedBytes()).isZero();
    }

    @Test
    void forgetQueryDropsOnlyEmptyQueries()
    {
        // cells of a query that still holds memory must survive, or its later frees would fail
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);
        pool.reserve(Q1T1, "t", 5);
        pool.forgetQuery(Q1);
        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(5);
        pool.free(Q1T1, "t", 5);
        pool.forgetQuery(Q1);
        assertThat(pool.queryReservedBytes(Q1)).isZero();
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty("general", 100));
    }

    private static Map<QueryId, List<MemoryAllocation>> allocations(FixedMemoryPool pool)
    {
        return pool.info().queryMemoryAllocations();
    }
}
