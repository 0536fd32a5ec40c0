package io.memgov.plugin.reservemode;

import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static io.memgov.plugin.reservemode.ReserveModeFixture.GIB;
import static io.memgov.plugin.reservemode.ReserveModeFixture.MIB;
import static io.memgov.plugin.reservemode.ReserveModeFixture.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Scenarios 8 to 11 of {@code research/others.md} section 4: TDengine's reserve mode, driven by a controlled probe.
 */
final class ReserveModeScenarioTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");
    private static final QueryId Q3 = QueryId.of("q3");
    private static final QueryId Q4 = QueryId.of("q4");

    // the heap budget is large so that the standard pool never blocks; only reserve-mode rules are in play
    private final ReserveModeFixture node = new ReserveModeFixture(64 * GIB, 40 * GIB);

    @AfterEach
    void close()
    {
        node.close();
    }

    @Test
    void scenario8QueryOverItsQuotaGetsUpperLimitKeepsItsFirstErrorAndIsReverted()
    {
        // TDengine mpChkQuotaOverflow: job += size; over the quota -> 0x80000739, the counter is reverted, the job retired
        node.releaseOnFail(false);
        ReserveModeMemoryPool pool = node.governed(Map.of("single-query-max-memory", "100MB", "min-reserved-memory", "1GB"));

        pool.reserve(task("q1"), "HashAggregation", 100 * MIB);
        pool.reserve(task("q2"), "OrderBy", 10 * MIB);

        assertThatThrownBy(() -> pool.reserve(task("q1"), "HashAggregation", 1))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_UPPER_LIMIT);
                    assertThat(e.errorCode().anchorCode()).hasValue(0x80000739L);
                    assertThat(e.getMessage())
                            .startsWith("Query memory upper limit is reached")
                            .contains("single-query-max-memory of 100MB", "[Allocated: 100MB, Delta: 1B, Top Consumers: {HashAggregation=100MB}]");
                });
        // reverted: the byte that was refused is nowhere
        assertThat(pool.queryReservedBytes(Q1)).isEqualTo(100 * MIB);
        assertThat(pool.trackedBytes(Q1)).isEqualTo(100 * MIB);
        assertThat(pool.reservedBytes()).isEqualTo(110 * MIB);
        assertThat(node.context.failQueryCalls()).singleElement()
                .satisfies(failure -> assertThat(failure.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_UPPER_LIMIT));

        // later pressure retires q2, but q1 keeps its first error and is not failed again
        node.available.set(512 * MIB);
        pool.runCheck();
        assertThat(pool.retiredWith(Q1)).hasValue(ErrorCode.QUERY_MEMORY_UPPER_LIMIT);
        assertThat(pool.retiredWith(Q2)).hasValue(ErrorCode.QUERY_MEMORY_EXHAUSTED);
        assertThat(node.failedQueries()).containsExactly(Q1, Q2);
        assertThatThrownBy(() -> pool.reserve(task("q1"), "HashAggregation", 1))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_UPPER_LIMIT));
        assertThat(node.failedQueries()).containsExactly(Q1, Q2);
    }

    @Test
    void scenario9RequestThatWouldEatIntoTheReserveFailsTheRequesterOnly()
    {
        // TDengine: cached available <= reserve + size -> 0x8000073A for the requester, nobody else
        node.available.set(GIB + 512 * MIB);
        ReserveModeMemoryPool pool = node.governed(Map.of("min-reserved-memory", "1GB"));
        pool.reserve(task("q0"), "Exchange", 10 * MIB);
        // the probe has seen q0's memory now (the figure stays 1.5GiB, as in the scenario)
        pool.runCheck();

        assertThatThrownBy(() -> pool.reserve(task("q1"), "HashAggregation", 600 * MIB))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED);
                    assertThat(e.errorCode().anchorCode()).hasValue(0x8000073AL);
                    assertThat(e.getMessage()).startsWith("Query memory exhausted").contains("reserve of 1GB");
                });

        assertThat(node.failedQueries()).containsExactly(Q1);
        assertThat(pool.queryReservedBytes(Q1)).isZero();
        assertThat(pool.trackedBytes(Q1)).isZero();
        assertThat(pool.queryReservedBytes(QueryId.of("q0"))).isEqualTo(10 * MIB);
        // a request that leaves more than the reserve still passes, for another query
        pool.reserve(task("q2"), "HashAggregation", 100 * MIB);
        assertThat(pool.queryReservedBytes(Q2)).isEqualTo(100 * MIB);
        assertThat(pool.retiredWith(QueryId.of("q0"))).isEmpty();
        assertThat(pool.retiredWith(Q2)).isEmpty();
    }

    @Test
    void scenario10ExternalPressureRetiresLargestQueriesFirstUntilTheShortfallIsCovered()
    {
        // TDengine mpMgmtThreadFunc + qWorkerRetireJobs: reserve 1GiB, available drops to 800MiB -> retire >= 224MiB
        node.releaseOnFail(false);
        ReserveModeMemoryPool pool = node.governed(Map.of("min-reserved-memory", "1GB", "single-query-max-memory", "1GB"));
        Map<String, Long> running = Map.of("q1", 150 * MIB, "q2", 120 * MIB, "q3", 100 * MIB, "q4", 50 * MIB);
        running.forEach((query, bytes) -> pool.reserve(task(query), "HashAggregation", bytes));

        node.available.set(800 * MIB);
        pool.runCheck();

        // one poll: 150MiB + 120MiB = 270MiB >= 224MiB, so q3 and q4 keep running
        assertThat(node.failedQueries()).containsExactly(Q1, Q2);
        assertThat(node.context.failQueryCalls()).allSatisfy(failure -> {
            assertThat(failure.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED);
            assertThat(failure.message()).startsWith("Query memory exhausted: available memory 800MB on node n1 fell below the reserve of 1GB");
        });
        assertThat(pool.retiredWith(Q3)).isEmpty();
        assertThat(pool.retiredWith(Q4)).isEmpty();

        // a second failure of q1 (now over its quota) keeps the first code and does not fail it again
        assertThatThrownBy(() -> pool.reserve(task("q1"), "HashAggregation", 2 * GIB))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED));
        // the next poll sees the same figure, but the retired bytes are still being released: nobody else is retired
        pool.runCheck();
        assertThat(node.failedQueries()).containsExactly(Q1, Q2);
    }

    @Test
    void scenario10RetiresMoreOnlyAfterTheGracePeriodIfAvailableMemoryDoesNotRecover()
    {
        node.releaseOnFail(false);
        ReserveModeMemoryPool pool = node.governed(Map.of("min-reserved-memory", "1GB", "retire-grace-period", "1s"));
        Map.of("q1", 150 * MIB, "q2", 120 * MIB, "q3", 100 * MIB, "q4", 50 * MIB)
                .forEach((query, bytes) -> pool.reserve(task(query), "HashAggregation", bytes));
        node.available.set(800 * MIB);
        pool.runCheck();

        node.context.testingClock().advance(Duration.ofSeconds(1));
        pool.runCheck();

        // the retired 270MiB never showed up as available memory, so the rest is retired, still largest first
        assertThat(node.failedQueries()).containsExactly(Q1, Q2, Q3, Q4);
    }

    @Test
    void scenario10WithoutAGracePeriodRetiresAgainAtEveryPollLikeTDengine()
    {
        node.releaseOnFail(false);
        ReserveModeMemoryPool pool = node.governed(Map.of("min-reserved-memory", "1GB", "retire-grace-period", "0"));
        Map.of("q1", 150 * MIB, "q2", 120 * MIB, "q3", 100 * MIB)
                .forEach((query, bytes) -> pool.reserve(task(query), "HashAggregation", bytes));
        node.available.set(800 * MIB);

        pool.runCheck();
        assertThat(node.failedQueries()).containsExactly(Q1, Q2);
        pool.runCheck();
        assertThat(node.failedQueries()).containsExactly(Q1, Q2, Q3);
    }

    @Test
    void scenario11AutomaticReserveIsTwentyPercentOfMemoryAndAtLeastOneGigabyte()
    {
        // 64GiB -> 12.8GiB; 4GiB -> 1GiB (20% would be 0.8GiB)
        node.total.set(64 * GIB);
        ReserveModeMemoryPool large = node.governed(Map.of());
        assertThat(large.reserveBytes()).isEqualTo(64 * GIB / 5);
        assertThat(large.reserveBytes() / (double) GIB).isEqualTo(12.8, org.assertj.core.data.Offset.offset(0.001));
        large.stop();

        node.total.set(4 * GIB);
        node.available.set(3 * GIB);
        ReserveModeMemoryPool small = node.governed(Map.of());
        assertThat(small.reserveBytes()).isEqualTo(GIB);
        small.stop();

        // the heap has no one-gigabyte floor: 20% of the maximum heap
        node.total.set(2 * GIB);
        ReserveModeMemoryPool heap = node.governed(Map.of("source", "heap"));
        assertThat(heap.reserveBytes()).isEqualTo(2 * GIB / 5);
        heap.stop();
    }

    @Test
    void scenario11StandsDownWhenAvailableMemoryAtStartIsBelowFiveGigabytes()
    {
        node.available.set(5 * GIB - 1);
        try (CapturedLog log = new CapturedLog(ReserveModePoolFactory.class)) {
            MemoryPool pool = node.create(Map.of());

            assertThat(pool).isSameAs(node.standardPool());
            assertThat(log.warnings()).singleElement().asString()
                    .contains("Reserve mode cannot govern node n1", "below min-available-at-start 5GB", "standing down");
        }
    }

    @Test
    void scenario11StandsDownWhenLessThanFourGigabytesRemainAfterTheReserve()
    {
        // 16GiB available - 12.8GiB automatic reserve = 3.2GiB < 4GiB
        node.total.set(64 * GIB);
        node.available.set(16 * GIB);
        try (CapturedLog log = new CapturedLog(ReserveModePoolFactory.class)) {
            MemoryPool pool = node.create(Map.of());

            assertThat(pool).isSameAs(node.standardPool());
            assertThat(log.warnings()).singleElement().asString().contains("below min-free-after-reserve 4GB");
        }
        // without governance a request deep into the reserve passes, exactly as on the standard pool
        node.available.set(GIB);
        node.standardPool().reserve(task("q1"), "HashAggregation", 8 * GIB);
        assertThat(node.failedQueries()).isEmpty();
    }

    @Test
    void scenario11GovernsWhenEnoughRemainsAfterTheReserve()
    {
        // 20GiB - 12.8GiB = 7.2GiB >= 4GiB
        node.total.set(64 * GIB);
        node.available.set(20 * GIB);
        MemoryPool pool = node.create(Map.of("check-interval", "1h"));

        assertThat(pool).isInstanceOf(ReserveModeMemoryPool.class);
        ((ReserveModeMemoryPool) pool).stop();
    }

    @Test
    void scenario11FailsStartUpInsteadOfStandingDownWhenAsked()
    {
        node.available.set(2 * GIB);

        assertThatThrownBy(() -> node.create(Map.of("fail-if-unavailable", "true")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("below min-available-at-start 5GB")
                .hasMessageContaining("memory.pool.reserve-mode.fail-if-unavailable=true");
    }
}
