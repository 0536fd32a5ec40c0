package io.memgov.testing;

import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The promises of {@link MemoryLeakDetector} as tests. The suite hands the detector a {@link TestingClusterContext}
 * whose clock it moves, so that queries end long enough ago for any grace period. A detector gets the whole suite
 * with one small subclass:
 *
 * <pre>{@code
 * final class MyMemoryLeakDetectorContractTest
 *         extends MemoryLeakDetectorContract
 * {
 *     @Override
 *     protected MemoryLeakDetector newDetector(TestingClusterContext context)
 *     {
 *         return new MyLeakDetectorFactory().create(PolicyConfig.empty(), context);
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: a running query is never flagged, however long it holds memory; a query that holds nothing is
 * never flagged; each check replaces the previous result; {@code wasQueryPossiblyLeaked}, {@code numberOfLeakedQueries}
 * and {@code leakedBytes} agree with the set the last check returned; {@code contextCollected} never throws, from any
 * thread; the readers may be called from other threads while checks run; the detector accepts unmodifiable maps and
 * leaves mutable ones as they were.
 *
 * <p>Test methods are public so that a subclass can override one to disable it ({@code @Disabled("why")}) while a
 * known defect is fixed.
 *
 * @since 1.0
 */
public abstract class MemoryLeakDetectorContract
{
    private static final long RANDOM_SEED = 20_240_103;
    private static final Duration LONG_AGO = Duration.ofDays(2);
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");
    private static final QueryId Q3 = QueryId.of("q3");

    private final TestingClusterContext context = new TestingClusterContext();

    /**
     * A new detector on {@code context}, whose clock the suite moves. Called once or more per test.
     */
    protected abstract MemoryLeakDetector newDetector(TestingClusterContext context);

    @Test
    public void neverFlagsARunningQuery()
    {
        // however much and however long a running query holds, it is the killer's business
        MemoryLeakDetector detector = newDetector(context);
        Map<QueryId, KnownQuery> known = Map.of(Q1, KnownQuery.running(Q1), Q2, ended(Q2, QueryState.FINISHED, LONG_AGO));
        Map<QueryId, Long> reservations = Map.of(Q1, 1L << 40, Q2, 10L);

        for (Duration step : List.of(Duration.ZERO, Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(30))) {
            context.testingClock().advance(step);
            Set<QueryId> leaked = detector.checkForLeaks(known, reservations);

            assertThat(leaked).doesNotContain(Q1);
            assertThat(detector.wasQueryPossiblyLeaked(Q1)).isFalse();
            assertConsistent(detector, leaked, reservations);
        }
    }

    @Test
    public void neverFlagsAQueryThatHoldsNothing()
    {
        // the input omits zero entries; a query missing from it, or listed with zero, holds nothing to leak
        MemoryLeakDetector detector = newDetector(context);
        Map<QueryId, KnownQuery> known = Map.of(
                Q1, ended(Q1, QueryState.FINISHED, LONG_AGO),
                Q2, ended(Q2, QueryState.FAILED, LONG_AGO));
        Map<QueryId, Long> reservations = Map.of(Q2, 0L);

        context.testingClock().advance(Duration.ofDays(1));
        Set<QueryId> leaked = detector.checkForLeaks(known, reservations);

        assertThat(leaked).isEmpty();
        assertThat(detector.wasQueryPossiblyLeaked(Q1)).isFalse();
        assertThat(detector.wasQueryPossiblyLeaked(Q2)).isFalse();
        assertThat(detector.numberOfLeakedQueries()).isZero();
        assertThat(detector.leakedBytes()).isZero();
    }

    @Test
    public void eachCheckReplacesThePreviousResult()
    {
        MemoryLeakDetector detector = newDetector(context);
        Map<QueryId, KnownQuery> known = Map.of(
                Q1, ended(Q1, QueryState.FINISHED, LONG_AGO),
                Q2, ended(Q2, QueryState.FAILED, LONG_AGO),
                Q3, KnownQuery.running(Q3));
        context.testingClock().advance(Duration.ofDays(1));
        Map<QueryId, Long> first = Map.of(Q1, 100L, Q2, 50L, Q3, 10L);
        assertConsistent(detector, detector.checkForLeaks(known, first), first);

        Map<QueryId, Long> second = Map.of(Q2, 50L);
        Set<QueryId> leaked = detector.checkForLeaks(known, second);

        assertThat(leaked).doesNotContain(Q1, Q3);
        assertThat(detector.wasQueryPossiblyLeaked(Q1)).isFalse();
        assertConsistent(detector, leaked, second);

        Set<QueryId> none = detector.checkForLeaks(known, Map.of());

        assertThat(none).isEmpty();
        assertThat(detector.wasQueryPossiblyLeaked(Q2)).isFalse();
        assertThat(detector.numberOfLeakedQueries()).isZero();
        assertThat(detector.leakedBytes()).isZero();
    }

    @Test
    public void theReadersAgreeWithTheLastCheck()
    {
        // random pictures of ended, failed, running and unknown queries, checked one after another as the clock moves
        MemoryLeakDetector detector = newDetector(context);
        Random random = new Random(RANDOM_SEED);
        for (int i = 0; i < 100; i++) {
            context.testingClock().advance(Duration.ofSeconds(random.nextInt(3600)));
            Picture picture = Picture.random(random, context.clock().instant());

            Set<QueryId> leaked = detector.checkForLeaks(picture.known(), picture.reservations());

            assertThat(leaked).as("check %s (seed %s)", i, RANDOM_SEED).isNotNull();
            for (QueryId query : leaked) {
                KnownQuery state = picture.known().get(query);
                assertThat(state == null || state.state() != QueryState.RUNNING).as("check %s: %s is running", i, query).isTrue();
            }
            assertConsistent(detector, leaked, picture.reservations());
        }
    }

    @Test
    public void contextCollectedNeverThrows()
    {
        MemoryLeakDetector detector = newDetector(context);

        assertThatCode(() -> {
            detector.contextCollected(Q1, TaskId.of(Q1, "0"), "HashAggregation", 100);
            detector.contextCollected(Q1, TaskId.of(Q1, "0"), null, 0);
            detector.contextCollected(Q1, null, null, 0);
            detector.contextCollected(Q2, null, null, Long.MAX_VALUE);
            detector.contextCollected(Q3, TaskId.of(Q3, "7"), "OrderBy", 1);
            detector.checkForLeaks(Map.of(Q1, ended(Q1, QueryState.FINISHED, LONG_AGO)), Map.of(Q1, 5L));
            detector.contextCollected(Q1, null, null, 5);
        }).doesNotThrowAnyException();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    public void readersAndCollectedContextsAreSafeFromOtherThreadsDuringChecks()
            throws InterruptedException
    {
        // one thread checks, as the cluster loop does; JMX readers and the engine's cleaner run on threads of their own
        MemoryLeakDetector detector = newDetector(context);
        context.testingClock().advance(Duration.ofDays(1));
        Workers.run("leak-detector", 5, (worker, deadline) -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (System.nanoTime() < deadline) {
                if (worker == 0) {
                    Picture picture = Picture.random(new Random(random.nextLong()), context.clock().instant());
                    detector.checkForLeaks(picture.known(), picture.reservations());
                }
                else if (worker == 1) {
                    QueryId query = QueryId.of("q" + random.nextInt(8));
                    detector.contextCollected(query, random.nextBoolean() ? null : TaskId.of(query, "0"), null, random.nextInt(1000));
                }
                else {
                    assertThat(detector.numberOfLeakedQueries()).isNotNegative();
                    assertThat(detector.leakedBytes()).isNotNegative();
                    detector.wasQueryPossiblyLeaked(QueryId.of("q" + random.nextInt(8)));
                }
            }
        });
    }

    @Test
    public void acceptsUnmodifiableInputsAndLeavesMutableOnesAsTheyWere()
    {
        MemoryLeakDetector detector = newDetector(context);
        context.testingClock().advance(Duration.ofDays(1));
        Map<QueryId, KnownQuery> known = Map.of(Q1, ended(Q1, QueryState.FINISHED, LONG_AGO), Q2, KnownQuery.running(Q2));
        Map<QueryId, Long> reservations = Map.of(Q1, 10L, Q2, 20L, Q3, 30L);

        assertThatCode(() -> detector.checkForLeaks(Collections.unmodifiableMap(known), Collections.unmodifiableMap(reservations)))
                .doesNotThrowAnyException();
        Map<QueryId, KnownQuery> mutableKnown = new HashMap<>(known);
        Map<QueryId, Long> mutableReservations = new HashMap<>(reservations);
        detector.checkForLeaks(mutableKnown, mutableReservations);
        assertThat(mutableKnown).isEqualTo(known);
        assertThat(mutableReservations).isEqualTo(reservations);
    }

    private KnownQuery ended(QueryId query, QueryState state, Duration ago)
    {
        return KnownQuery.ended(query, state, context.clock().instant().minus(ago));
    }

    private static void assertConsistent(MemoryLeakDetector detector, Set<QueryId> leaked, Map<QueryId, Long> reservations)
    {
        assertThat(reservations.keySet()).as("the queries holding memory, which include every flagged one").containsAll(leaked);
        assertThat(detector.numberOfLeakedQueries()).as("numberOfLeakedQueries of %s", leaked).isEqualTo(leaked.size());
        assertThat(detector.leakedBytes()).as("leakedBytes of %s", leaked).isEqualTo(leaked.stream().mapToLong(reservations::get).sum());
        for (QueryId query : reservations.keySet()) {
            assertThat(detector.wasQueryPossiblyLeaked(query)).as("wasQueryPossiblyLeaked(%s), flagged: %s", query, leaked).isEqualTo(leaked.contains(query));
        }
    }

    /** What the host knows and what the nodes hold, at one check. */
    private record Picture(Map<QueryId, KnownQuery> known, Map<QueryId, Long> reservations)
    {
        static Picture random(Random random, Instant now)
        {
            Map<QueryId, KnownQuery> known = new HashMap<>();
            Map<QueryId, Long> reservations = new HashMap<>();
            QueryState[] ended = {QueryState.FINISHED, QueryState.FAILED};
            for (int i = 0; i < 8; i++) {
                QueryId query = QueryId.of("q" + i);
                switch (random.nextInt(4)) {
                    case 0 -> known.put(query, KnownQuery.running(query));
                    case 1, 2 -> known.put(query, KnownQuery.ended(query, ended[random.nextInt(ended.length)], now.minusSeconds(random.nextInt(2 * 24 * 3600))));
                    default -> {
                        // unknown to the host: it forgot the query, or never told the engine
                    }
                }
                if (random.nextInt(3) != 0) {
                    reservations.put(query, 1 + (long) random.nextInt(1 << 20));
                }
            }
            return new Picture(Map.copyOf(known), Map.copyOf(reservations));
        }
    }
}
