package io.memgov.spi.pool;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link MemoryPool#slot}'s default: a pool that offers no slots of its own gets every call of a slot as its own call,
 * with the same results, so plugin pools written before slots existed keep working unchanged.
 */
final class DefaultMemoryPoolSlotTest
{
    private static final TaskId TASK = TaskId.of(QueryId.of("q1"), "0");

    @Test
    void everyCallOfTheDefaultSlotIsThePoolsOwnCallWithTheTaskAndTagBound()
    {
        RecordingPool pool = new RecordingPool();
        MemoryPoolSlot slot = pool.slot(TASK, "HashAggregation");

        assertThat(slot.taskId()).isEqualTo(TASK);
        assertThat(slot.tag()).isEqualTo("HashAggregation");
        assertThat(slot.isStale()).isFalse();
        assertThat(slot.reserve(10)).isSameAs(MemoryFuture.NOT_BLOCKED);
        assertThat(slot.tryReserve(20)).isTrue();
        assertThat(slot.tryReserve(1000)).isFalse();
        slot.free(5);
        assertThat(slot.reserveRevocable(7)).isSameAs(MemoryFuture.NOT_BLOCKED);
        assertThat(slot.tryReserveRevocable(3)).isTrue();
        slot.freeRevocable(1);

        assertThat(pool.calls).containsExactly(
                "reserve q1.0 HashAggregation 10",
                "tryReserve q1.0 HashAggregation 20",
                "tryReserve q1.0 HashAggregation 1000",
                "free q1.0 HashAggregation 5",
                "reserveRevocable q1.0 7",
                "tryReserveRevocable q1.0 3",
                "freeRevocable q1.0 1");
        assertThat(pool.reservedBytes()).isEqualTo(25);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(9);
    }

    @Test
    void theDefaultSlotPassesThePoolsFailuresThroughUnchanged()
    {
        RecordingPool pool = new RecordingPool();
        MemoryPoolSlot slot = pool.slot(TASK, "OrderBy");

        assertThatThrownBy(() -> slot.free(1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("free of 1 bytes, only 0 reserved");
        assertThat(pool.reservedBytes()).isZero();
    }

    /** Keeps one user and one revocable total and records every call it gets. */
    private static final class RecordingPool
            implements MemoryPool
    {
        final List<String> calls = new ArrayList<>();
        private long reserved;
        private long revocable;

        @Override
        public String id()
        {
            return "recording";
        }

        @Override
        public long maxBytes()
        {
            return 100;
        }

        @Override
        public long reservedBytes()
        {
            return reserved;
        }

        @Override
        public long reservedRevocableBytes()
        {
            return revocable;
        }

        @Override
        public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
        {
            calls.add("reserve " + taskId + " " + tag + " " + bytes);
            reserved += bytes;
            return MemoryFuture.NOT_BLOCKED;
        }

        @Override
        public boolean tryReserve(TaskId taskId, String tag, long bytes)
        {
            calls.add("tryReserve " + taskId + " " + tag + " " + bytes);
            if (freeBytes() < bytes) {
                return false;
            }
            reserved += bytes;
            return true;
        }

        @Override
        public void free(TaskId taskId, String tag, long bytes)
        {
            calls.add("free " + taskId + " " + tag + " " + bytes);
            if (bytes > reserved) {
                throw new IllegalArgumentException("free of " + bytes + " bytes, only " + reserved + " reserved");
            }
            reserved -= bytes;
        }

        @Override
        public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
        {
            calls.add("reserveRevocable " + taskId + " " + bytes);
            revocable += bytes;
            return MemoryFuture.NOT_BLOCKED;
        }

        @Override
        public boolean tryReserveRevocable(TaskId taskId, long bytes)
        {
            calls.add("tryReserveRevocable " + taskId + " " + bytes);
            revocable += bytes;
            return true;
        }

        @Override
        public void freeRevocable(TaskId taskId, long bytes)
        {
            calls.add("freeRevocable " + taskId + " " + bytes);
            revocable -= bytes;
        }

        @Override
        public long queryReservedBytes(QueryId queryId)
        {
            return reserved;
        }

        @Override
        public long queryRevocableBytes(QueryId queryId)
        {
            return revocable;
        }

        @Override
        public void addListener(MemoryPoolListener listener) {}

        @Override
        public MemoryPoolInfo info()
        {
            return new MemoryPoolInfo(id(), maxBytes(), reserved, revocable, Map.of(), Map.of(), Map.of(), Map.of(), Map.of());
        }
    }
}
