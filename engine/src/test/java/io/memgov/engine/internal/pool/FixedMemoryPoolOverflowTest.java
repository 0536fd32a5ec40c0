package io.memgov.engine.internal.pool;

import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.BiConsumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Issue #17, defect 4 in the pool: a reservation that would wrap the pool's reserved, revocable or claimed
 * (reserved + revocable) bytes past {@code Long.MAX_VALUE} is refused naming the bytes and the pool, through the pool's
 * calls and through a slot alike, and changes nothing; a try that cannot fit says false, whatever its size.
 */
final class FixedMemoryPoolOverflowTest
{
    private static final long HALF_PLUS_ONE = Long.MAX_VALUE / 2 + 1;
    private static final TaskId Q1T1 = TaskId.of(QueryId.of("q1"), "t1");
    private static final TaskId Q2T1 = TaskId.of(QueryId.of("q2"), "t1");

    // how the first, accepted reservation is made and freed
    enum Held
    {
        USER((pool, bytes) -> pool.reserve(Q1T1, "a", bytes), (pool, bytes) -> pool.free(Q1T1, "a", bytes)),
        REVOCABLE((pool, bytes) -> pool.reserveRevocable(Q1T1, bytes), (pool, bytes) -> pool.freeRevocable(Q1T1, bytes));

        final BiConsumer<FixedMemoryPool, Long> reserve;
        final BiConsumer<FixedMemoryPool, Long> free;

        Held(BiConsumer<FixedMemoryPool, Long> reserve, BiConsumer<FixedMemoryPool, Long> free)
        {
            this.reserve = reserve;
            this.free = free;
        }
    }

    static Stream<Arguments> overflowingReservations()
    {
        // every pair: user and revocable memory share only the claimed sum, and a slot must check as the pool does
        return Stream.of(Held.values()).flatMap(held -> Stream.of(
                arguments(held, "reserve", (BiConsumer<FixedMemoryPool, Long>) (pool, bytes) -> pool.reserve(Q2T1, "b", bytes)),
                arguments(held, "reserveRevocable", (BiConsumer<FixedMemoryPool, Long>) (pool, bytes) -> pool.reserveRevocable(Q2T1, bytes)),
                arguments(held, "slot reserve", (BiConsumer<FixedMemoryPool, Long>) (pool, bytes) -> pool.slot(Q2T1, "b").reserve(bytes)),
                arguments(held, "slot reserveRevocable", (BiConsumer<FixedMemoryPool, Long>) (pool, bytes) -> pool.slot(Q2T1, "b").reserveRevocable(bytes))));
    }

    @ParameterizedTest(name = "{0} held, then {1}")
    @MethodSource("overflowingReservations")
    void aReservationThatWouldOverflowIsRefusedAndChangesNothing(Held held, String call, BiConsumer<FixedMemoryPool, Long> reserve)
    {
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);
        held.reserve.accept(pool, HALF_PLUS_ONE);
        MemoryPoolInfo before = pool.info();

        assertThatThrownBy(() -> reserve.accept(pool, HALF_PLUS_ONE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(Long.toString(HALF_PLUS_ONE))
                .hasMessageContaining("pool 'general'")
                .hasMessageContaining("would overflow");

        assertThat(pool.info()).isEqualTo(before);
        assertThat(pool.freeBytes()).isEqualTo(100 - HALF_PLUS_ONE);
        held.free.accept(pool, HALF_PLUS_ONE);
        assertEmpty(pool);
    }

    static Stream<Arguments> tries()
    {
        return Stream.of(Held.values()).flatMap(held -> Stream.of(
                arguments(held, "tryReserve", (TryCall) (pool, bytes) -> pool.tryReserve(Q2T1, "b", bytes)),
                arguments(held, "tryReserveRevocable", (TryCall) (pool, bytes) -> pool.tryReserveRevocable(Q2T1, bytes)),
                arguments(held, "slot tryReserve", (TryCall) (pool, bytes) -> pool.slot(Q2T1, "b").tryReserve(bytes)),
                arguments(held, "slot tryReserveRevocable", (TryCall) (pool, bytes) -> pool.slot(Q2T1, "b").tryReserveRevocable(bytes))));
    }

    @ParameterizedTest(name = "{0} held, then {1}")
    @MethodSource("tries")
    void aTryOfAnySizeOnAnOverCommittedPoolSaysFalseAndChangesNothing(Held held, String call, TryCall tryReserve)
    {
        // free bytes are negative here: computing what is left after the try wrapped around and let it through
        FixedMemoryPool pool = new FixedMemoryPool("general", 100);
        held.reserve.accept(pool, HALF_PLUS_ONE);
        MemoryPoolInfo before = pool.info();

        assertThat(tryReserve.apply(pool, Long.MAX_VALUE)).isFalse();
        assertThat(tryReserve.apply(pool, HALF_PLUS_ONE)).isFalse();
        assertThat(tryReserve.apply(pool, 1)).isFalse();

        assertThat(pool.info()).isEqualTo(before);
        held.free.accept(pool, HALF_PLUS_ONE);
        assertEmpty(pool);
        assertThat(tryReserve.apply(pool, 100)).isTrue();
    }

    interface TryCall
    {
        boolean apply(MemoryPool pool, long bytes);
    }

    private static void assertEmpty(FixedMemoryPool pool)
    {
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
        assertThat(pool.info().queryMemoryReservations()).isEmpty();
        assertThat(pool.info().queryMemoryRevocableReservations()).isEmpty();
    }
}
