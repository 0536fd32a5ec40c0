package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.memgov.plugin.reservemode.ReserveModeFixture.GIB;
import static io.memgov.plugin.reservemode.ReserveModeFixture.MIB;
import static io.memgov.plugin.reservemode.ReserveModeFixture.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class ReserveModeMemoryPoolTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");

    private final ReserveModeFixture node = new ReserveModeFixture(64 * GIB, 40 * GIB);

    @AfterEach
    void close()
    {
        node.close();
    }

    @Test
    void countsBytesGrantedSinceTheLastPollAgainstTheCachedFigure()
    {
        // without this, every request in one 10ms window would see 1.5GiB and a burst could overshoot the reserve
        node.available.set(GIB + 512 * MIB);
        ReserveModeMemoryPool pool = node.governed(Map.of("min-reserved-memory", "1GB"));

        pool.reserve(task("q1"), "HashAggregation", 300 * MIB);
        assertThatThrownBy(() -> pool.reserve(task("q2"), "HashAggregation", 300 * MIB))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED));

        // the next poll's figure includes q1's memory (the probe says 1.5GiB again): a new query fits again
        pool.runCheck();
        pool.reserve(task("q3"), "HashAggregation", 300 * MIB);
        assertThat(node.failedQueries()).containsExactly(Q2);
    }

    @Test
    void freeingDoesNotRaiseTheCachedFigureBeforeTheNextPoll()
    {
        node.available.set(GIB + 512 * MIB);
        ReserveModeMemoryPool pool = node.governed(Map.of("min-reserved-memory", "1GB"));
        pool.reserve(task("q1"), "HashAggregation", 300 * MIB);
        pool.runCheck();
        pool.free(task("q1"), "HashAggregation", 300 * MIB);

        // the probe has not seen the release yet, so 1.5GiB is all there is
        assertThatThrownBy(() -> pool.reserve(task("q2"), "HashAggregation", 600 * MIB)).isInstanceOf(MemoryLimitExceededException.class);
    }

    @Test
    void tryReserveFailsTheQueryOnReserveModeRulesButOnlyRefusesWhenThePoolIsFull()
    {
        ReserveModeFixture small = new ReserveModeFixture(100 * MIB, 40 * GIB);
        try (small) {
            ReserveModeMemoryPool pool = small.governed(Map.of("single-query-max-memory", "50MB"));

            assertThat(pool.tryReserve(task("q1"), "HashAggregation", 40 * MIB)).isTrue();
            assertThat(pool.tryReserve(task("q2"), "HashAggregation", 40 * MIB)).isTrue();
            // the standard pool has 20MiB left: refused, nothing changed, nobody failed
            assertThat(pool.tryReserve(task("q3"), "HashAggregation", 30 * MIB)).isFalse();
            assertThat(pool.trackedBytes()).isEqualTo(80 * MIB);
            assertThat(pool.trackedBytes(QueryId.of("q3"))).isZero();
            assertThat(small.failedQueries()).isEmpty();

            // over the per-query cap: a query failure, not a full pool
            assertThatThrownBy(() -> pool.tryReserve(task("q1"), "HashAggregation", 20 * MIB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_UPPER_LIMIT));
            assertThat(small.failedQueries()).containsExactly(Q1);
            assertThat(pool.trackedBytes()).isEqualTo(40 * MIB);
        }
    }

    @Test
    void revocableMemoryCountsTowardsTheQuotaAndTheReserve()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of("single-query-max-memory", "100MB"));
        pool.reserve(task("q1"), "HashAggregation", 60 * MIB);

        assertThatThrownBy(() -> pool.reserveRevocable(task("q1"), 50 * MIB))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_UPPER_LIMIT));
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(pool.queryReservedBytes(Q1)).isZero();
    }

    @Test
    void retiresAQueryThatHeldMemoryWithoutAnyChangeForTheIdleTimeout()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of("query-idle-timeout", "5h"));
        pool.reserve(task("q1"), "HashAggregation", 10 * MIB);
        pool.reserve(task("q2"), "HashAggregation", 10 * MIB);
        pool.reserve(task("q3"), "HashAggregation", 10 * MIB);
        pool.free(task("q3"), "HashAggregation", 10 * MIB);

        node.context.testingClock().advance(Duration.ofHours(4));
        // a release is activity too
        pool.free(task("q2"), "HashAggregation", MIB);
        node.context.testingClock().advance(Duration.ofHours(1));
        pool.runCheck();

        // q2 was active an hour ago and q3 holds nothing: only q1 is retired, and its memory released
        assertThat(node.context.failQueryCalls()).singleElement().satisfies(failure -> {
            assertThat(failure.queryId()).isEqualTo(Q1);
            assertThat(failure.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED);
            assertThat(failure.message()).contains("no reservation change for 5h (query-idle-timeout 5h)");
        });
        assertThat(pool.queryReservedBytes(Q1)).isZero();
        assertThat(pool.queryReservedBytes(Q2)).isEqualTo(9 * MIB);
    }

    @Test
    void aQueryWhoseClientFetchesIsNotIdleThoughItsReservationsDoNotChange()
    {
        // TDengine's no-fetch timeout: a query streaming its results out with steady memory is busy, not idle
        ReserveModeMemoryPool pool = node.governed(Map.of("query-idle-timeout", "5h"));
        pool.reserve(task("q1"), "HashAggregation", 10 * MIB);

        node.context.testingClock().advance(Duration.ofHours(4));
        pool.queryResultsFetched(Q1);
        node.context.testingClock().advance(Duration.ofHours(4));
        pool.runCheck();
        assertThat(node.context.failedQueries()).isEmpty();

        // then the client stops fetching: five hours after its last fetch the query is retired
        node.context.testingClock().advance(Duration.ofHours(1));
        pool.runCheck();
        assertThat(node.context.failQueryCalls()).singleElement().satisfies(failure -> {
            assertThat(failure.queryId()).isEqualTo(Q1);
            assertThat(failure.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED);
            assertThat(failure.message()).contains("with no results fetched for 5h (query-idle-timeout 5h)");
        });
        assertThat(pool.queryReservedBytes(Q1)).isZero();
    }

    @Test
    void onceResultsWereFetchedReservationChangesNoLongerKeepAQueryAlive()
    {
        // a query that keeps working while its client went away is what the timeout is for
        ReserveModeMemoryPool pool = node.governed(Map.of("query-idle-timeout", "5h"));
        pool.reserve(task("q1"), "HashAggregation", 10 * MIB);
        pool.reserve(task("q2"), "HashAggregation", 10 * MIB);
        pool.queryResultsFetched(Q1);
        for (int hour = 0; hour < 5; hour++) {
            node.context.testingClock().advance(Duration.ofHours(1));
            pool.reserve(task("q1"), "HashAggregation", MIB);
            pool.reserve(task("q2"), "HashAggregation", MIB);
        }
        pool.runCheck();

        // q1's client fetched once, five hours ago; q2's host never reported a fetch, and q2 changed its reservation
        // just now
        assertThat(node.context.failedQueryIds()).containsExactly(Q1);
        assertThat(pool.queryReservedBytes(Q2)).isEqualTo(15 * MIB);
    }

    @Test
    void aFetchOfAQueryThatHoldsNothingHereIsIgnored()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of("query-idle-timeout", "5h", "full-statistics", "true"));
        pool.queryResultsFetched(Q1);
        assertThat(pool.statistics(Q1)).isEmpty();

        // its idle clock starts with its first reservation, and counts reservation changes until a fetch comes
        node.context.testingClock().advance(Duration.ofHours(10));
        pool.reserve(task("q1"), "HashAggregation", MIB);
        node.context.testingClock().advance(Duration.ofHours(4));
        pool.runCheck();
        assertThat(node.context.failedQueries()).isEmpty();
    }

    @Test
    void idleTimeoutOfZeroNeverRetires()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of("query-idle-timeout", "0"));
        pool.reserve(task("q1"), "HashAggregation", 10 * MIB);
        node.context.testingClock().advance(Duration.ofDays(30));
        pool.runCheck();

        assertThat(node.failedQueries()).isEmpty();
    }

    @Test
    void fullStatisticsReportWhatAQueryLeftReservedByTagAtItsEnd()
    {
        node.releaseOnFail(false);
        ReserveModeMemoryPool pool = node.governed(Map.of("full-statistics", "true", "single-query-max-memory", "1GB"));
        TaskId task = task("q1");
        pool.reserve(task, "HashAggregation", 3 * MIB);
        pool.reserve(task, "HashAggregation", 2 * MIB);
        pool.free(task, "HashAggregation", 4 * MIB);
        pool.reserve(task, "OrderBy", MIB);
        pool.free(task, "OrderBy", MIB);
        pool.reserveRevocable(task, 5 * MIB);
        pool.freeRevocable(task, 5 * MIB);
        pool.reserve(task("q2"), "OrderBy", MIB);
        pool.free(task("q2"), "OrderBy", MIB);

        assertThat(pool.statistics(Q1)).hasValueSatisfying(statistics -> assertThat(statistics.tags()).contains(
                new TagMemoryStatistics("HashAggregation", 2, 5 * MIB, 0, 0, 1, 4 * MIB),
                new TagMemoryStatistics(ReserveModeMemoryPool.REVOCABLE_TAG, 1, 5 * MIB, 0, 0, 1, 5 * MIB)));

        try (CapturedLog log = new CapturedLog(ReserveModeMemoryPool.class)) {
            pool.forgetQuery(Q1);
            pool.forgetQuery(Q2);

            assertThat(log.warnings()).singleElement().asString()
                    .contains("Query q1 ended on node n1 with 1MB reserved and never released", "HashAggregation=1MB (reserved 2 times, released 1 times)");
        }
        assertThat(pool.endedQueryStatistics()).hasSize(2);
        assertThat(pool.endedQueryStatistics().get(0).remainingBytesByTag()).containsExactly(Map.entry("HashAggregation", MIB));
        assertThat(pool.endedQueryStatistics().get(1).balanced()).isTrue();
    }

    @Test
    void fullStatisticsCountRefusedReservations()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of("full-statistics", "true", "single-query-max-memory", "10MB"));
        assertThatThrownBy(() -> pool.reserve(task("q1"), "HashAggregation", 11 * MIB)).isInstanceOf(MemoryLimitExceededException.class);

        assertThat(pool.statistics(Q1)).hasValueSatisfying(statistics -> assertThat(statistics.tags())
                .containsExactly(new TagMemoryStatistics("HashAggregation", 0, 0, 1, 11 * MIB, 0, 0)));
    }

    @Test
    void statisticsAreOffByDefault()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of());
        pool.reserve(task("q1"), "HashAggregation", MIB);

        assertThat(pool.statistics(Q1)).isEmpty();
        pool.free(task("q1"), "HashAggregation", MIB);
        pool.forgetQuery(Q1);
        assertThat(pool.endedQueryStatistics()).isEmpty();
    }

    @Test
    void aBadFreeChangesNothing()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of());
        pool.reserve(task("q1"), "HashAggregation", MIB);

        assertThatThrownBy(() -> pool.free(task("q1"), "HashAggregation", 2 * MIB)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pool.reserve(task("q1"), "HashAggregation", -1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(pool.trackedBytes()).isEqualTo(MIB);
        assertThat(pool.trackedBytes(Q1)).isEqualTo(MIB);
    }

    @Test
    void listenersAreToldAboutTheDecoratingPool()
    {
        ReserveModeMemoryPool pool = node.governed(Map.of());
        List<MemoryPool> seen = new ArrayList<>();
        pool.addListener(seen::add);

        pool.reserve(task("q1"), "HashAggregation", MIB);

        assertThat(seen).containsExactly(pool);
        assertThat(pool.id()).isEqualTo("general");
        assertThat(pool.maxBytes()).isEqualTo(64 * GIB);
    }

    @Test
    void keepsTheLastFigureAndLogsOnceWhenTheProbeFails()
    {
        AtomicInteger reads = new AtomicInteger();
        ReserveModePoolFactory factory = new ReserveModePoolFactory(source -> new ControlledMemoryProbe(() -> {
            if (reads.incrementAndGet() > 1) {
                throw new IllegalStateException("Cannot read available memory: /proc/meminfo does not exist");
            }
            return 2 * GIB;
        }, () -> 8 * GIB));
        ReserveModeMemoryPool pool = (ReserveModeMemoryPool) factory.create(PolicyConfig.of(ReserveModeConfig.PREFIX,
                Map.of("check-interval", "1h", "min-available-at-start", "0", "min-free-after-reserve", "0", "min-reserved-memory", "1GB")), node.context).generalPool();
        try (CapturedLog log = new CapturedLog(ReserveModeMemoryPool.class)) {
            pool.runCheck();
            pool.runCheck();

            assertThat(pool.availableBytes()).isEqualTo(2 * GIB);
            assertThat(log.warnings()).singleElement().asString().contains("/proc/meminfo does not exist");
        }
        pool.stop();
    }

    @Test
    void retiresEachQueryOnceWhenManyThreadsFailItAtOnce()
            throws Exception
    {
        ReserveModeMemoryPool pool = node.governed(Map.of("single-query-max-memory", "10MB"));
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        Map<ErrorCode, AtomicInteger> codes = new ConcurrentHashMap<>();
        for (int i = 0; i < threads; i++) {
            TaskId task = TaskId.of(Q1, String.valueOf(i));
            Thread worker = new Thread(() -> {
                awaitQuietly(start);
                try {
                    pool.reserve(task, "HashAggregation", 11 * MIB);
                }
                catch (MemoryLimitExceededException e) {
                    codes.computeIfAbsent(e.errorCode(), ignored -> new AtomicInteger()).incrementAndGet();
                }
            });
            worker.start();
            workers.add(worker);
        }
        start.countDown();
        for (Thread worker : workers) {
            worker.join();
        }

        assertThat(codes).containsOnlyKeys(ErrorCode.QUERY_MEMORY_UPPER_LIMIT);
        assertThat(codes.get(ErrorCode.QUERY_MEMORY_UPPER_LIMIT)).hasValue(threads);
        assertThat(node.failedQueries()).containsExactly(Q1);
        assertThat(pool.trackedBytes()).isZero();
    }

    @Test
    void countersEndAtZeroWhenManyThreadsReserveAndFreeWhileTheCheckerRetires()
            throws Exception
    {
        // the probe behaves like real memory: what the pool holds is not available; the 1ms checker retires under pressure
        ReserveModeFixture busy = new ReserveModeFixture(64 * GIB, 0);
        try (busy) {
            long physical = GIB + 600 * MIB;
            ReserveModePoolFactory factory = new ReserveModePoolFactory(source -> new ControlledMemoryProbe(
                    () -> physical - busy.standardPool().reservedBytes() - busy.standardPool().reservedRevocableBytes(), () -> physical));
            Map<String, String> config = Map.of("check-interval", "1ms", "min-available-at-start", "0", "min-free-after-reserve", "0",
                    "min-reserved-memory", "1GB", "single-query-max-memory", "400MB", "retire-grace-period", "5ms", "full-statistics", "true");
            ReserveModeMemoryPool pool = (ReserveModeMemoryPool) factory.create(PolicyConfig.of(ReserveModeConfig.PREFIX, config), busy.context).generalPool();
            busy.attach(pool);

            int threads = 8;
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            List<QueryId> queries = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicInteger refused = new AtomicInteger();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                Thread worker = new Thread(() -> {
                    awaitQuietly(start);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int run = 0; run < 50; run++) {
                        QueryId queryId = QueryId.of("q" + thread + "-" + run);
                        queries.add(queryId);
                        TaskId task = TaskId.of(queryId, "0");
                        List<Long> held = new ArrayList<>();
                        try {
                            for (int step = 0; step < 200; step++) {
                                if (held.isEmpty() || random.nextInt(10) < 6) {
                                    long bytes = random.nextLong(1, 16 * MIB);
                                    if (random.nextInt(4) == 0) {
                                        pool.reserveRevocable(task, bytes);
                                        pool.freeRevocable(task, bytes);
                                    }
                                    pool.reserve(task, "HashAggregation", bytes);
                                    held.add(bytes);
                                }
                                else {
                                    pool.free(task, "HashAggregation", held.remove(held.size() - 1));
                                }
                            }
                            for (long bytes : held) {
                                pool.free(task, "HashAggregation", bytes);
                            }
                        }
                        catch (MemoryLimitExceededException e) {
                            refused.incrementAndGet();
                        }
                        catch (IllegalArgumentException e) {
                            // the host released this retired query first
                        }
                    }
                }, "operator-" + t);
                worker.start();
                workers.add(worker);
            }
            start.countDown();
            for (Thread worker : workers) {
                worker.join(TimeUnit.MINUTES.toMillis(2));
            }
            pool.stop();
            // what retired queries still hold is released by the host, as the engine does when their contexts close
            queries.forEach(busy::release);
            queries.forEach(pool::forgetQuery);

            assertThat(workers).noneMatch(Thread::isAlive);
            assertThat(pool.reservedBytes()).isZero();
            assertThat(pool.reservedRevocableBytes()).isZero();
            assertThat(pool.trackedBytes()).isZero();
            assertThat(queries).allSatisfy(queryId -> assertThat(pool.trackedBytes(queryId)).isZero());
            assertThat(pool.endedQueryStatistics()).allSatisfy(statistics -> assertThat(statistics.balanced()).isTrue());
            // the run really exercised the rules, not just the bookkeeping
            assertThat(refused.get()).isPositive();
        }
    }

    private static void awaitQuietly(CountDownLatch latch)
    {
        try {
            latch.await();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
