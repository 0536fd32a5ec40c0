package io.memgov.plugin.leakdetector;

import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.testing.TestingClock;
import io.memgov.testing.TestingClusterContext;
import io.memgov.testing.TestingMetrics;
import io.memgov.testing.TestingScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static io.memgov.plugin.leakdetector.LeakFixtures.ended;
import static io.memgov.plugin.leakdetector.LeakFixtures.known;
import static io.memgov.plugin.leakdetector.LeakFixtures.query;
import static io.memgov.plugin.leakdetector.LeakFixtures.reservations;
import static io.memgov.plugin.leakdetector.LeakFixtures.running;
import static org.assertj.core.api.Assertions.assertThat;

final class ClusterMemoryLeakDetectorTest
{
    private final TestingClusterContext context = new TestingClusterContext(new TestingScheduler(new TestingClock(LeakFixtures.NOW)));
    private final TestingClock clock = context.testingClock();
    private final TestingMetrics metrics = context.testingMetrics();

    @Test
    void neverFlagsARunningQuery()
    {
        // research scenario 13: however much a running query holds, it is the killer's business, not a leak
        MemoryLeakDetector detector = detector(Map.of());

        assertThat(detector.checkForLeaks(known(Map.of("q1", running())), reservations(Map.of("q1", 1L)))).isEmpty();
        assertThat(detector.numberOfLeakedQueries()).isZero();
        assertThat(detector.leakedBytes()).isZero();
    }

    @Test
    void flagsAQueryThatFinishedLongAgoAndStillHoldsMemory()
    {
        // research scenario 13: this is the reservation that kept the last kill target from ever being gone (presto#11113)
        MemoryLeakDetector detector = detector(Map.of());

        assertThat(detector.checkForLeaks(
                known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofHours(1)))),
                reservations(Map.of("q1", 1L))))
                .containsExactly(query("q1"));
        assertThat(detector.numberOfLeakedQueries()).isEqualTo(1);
        assertThat(detector.leakedBytes()).isEqualTo(1);
        assertThat(detector.wasQueryPossiblyLeaked(query("q1"))).isTrue();
    }

    @Test
    void doesNotFlagAQueryThatFinishedLongAgoButHoldsNothing()
    {
        // research scenario 13: an ended query that freed everything is exactly what should happen
        MemoryLeakDetector detector = detector(Map.of());

        assertThat(detector.checkForLeaks(
                known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofHours(1)))),
                reservations(Map.of("q1", 0L))))
                .isEmpty();
        assertThat(detector.wasQueryPossiblyLeaked(query("q1"))).isFalse();
    }

    @Test
    void flagsAQueryTheHostDoesNotKnow()
    {
        // research scenario 13: memory held for an id nobody knows can never be released by finishing the query
        MemoryLeakDetector detector = detector(Map.of());

        assertThat(detector.checkForLeaks(Map.of(), reservations(Map.of("q1", 1L)))).containsExactly(query("q1"));
        assertThat(detector.leakedBytes()).isEqualTo(1);
    }

    @Test
    void waitsForTheGracePeriodBeforeFlaggingAnEndedQuery()
    {
        // nodes free an ended query's memory asynchronously: flagging it at once would make the killer strike twice
        MemoryLeakDetector detector = detector(Map.of());
        var known = known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofSeconds(30))));
        var reservations = reservations(Map.of("q1", 1L));

        assertThat(detector.checkForLeaks(known, reservations)).isEmpty();

        // exactly 60 s after the end the grace period has not yet passed ("before now" is strict)
        clock.advance(Duration.ofSeconds(30));
        assertThat(detector.checkForLeaks(known, reservations)).isEmpty();

        clock.advance(Duration.ofMillis(1));
        assertThat(detector.checkForLeaks(known, reservations)).containsExactly(query("q1"));
    }

    @Test
    void judgesFailedQueriesLikeFinishedOnes()
    {
        // a killed query is FAILED; if its memory never comes back the killer must still be unblocked
        MemoryLeakDetector detector = detector(Map.of());

        assertThat(detector.checkForLeaks(
                known(Map.of("q1", ended(QueryState.FAILED, Duration.ofMinutes(2)))),
                reservations(Map.of("q1", 7L))))
                .containsExactly(query("q1"));
    }

    @Test
    void usesTheConfiguredGracePeriod()
    {
        // with grace=5m a query that ended 2 minutes ago is still expected to free its memory
        MemoryLeakDetector detector = detector(Map.of("grace", "5m"));

        assertThat(detector.checkForLeaks(
                known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofMinutes(2)), "q2", ended(QueryState.FINISHED, Duration.ofMinutes(6)))),
                reservations(Map.of("q1", 1L, "q2", 1L))))
                .containsExactly(query("q2"));
    }

    @Test
    void replacesThePreviousResultOnEveryCheck()
    {
        // once the leaked memory is freed the query must stop counting, or JMX would report a leak forever
        MemoryLeakDetector detector = detector(Map.of());
        var known = known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofHours(1))));

        detector.checkForLeaks(known, reservations(Map.of("q1", 4L)));
        assertThat(detector.wasQueryPossiblyLeaked(query("q1"))).isTrue();

        assertThat(detector.checkForLeaks(known, Map.of())).isEmpty();
        assertThat(detector.wasQueryPossiblyLeaked(query("q1"))).isFalse();
        assertThat(detector.numberOfLeakedQueries()).isZero();
        assertThat(detector.leakedBytes()).isZero();
    }

    @Test
    void countsAndPublishesEveryLeakedQueryAndItsBytes()
    {
        // q1 and q3 leak, q2 still runs: the numbers must cover the leaked ones only
        MemoryLeakDetector detector = detector(Map.of());

        detector.checkForLeaks(
                known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofHours(1)), "q2", running())),
                reservations(Map.of("q1", 100L, "q2", 1_000L, "q3", 20L)));

        assertThat(detector.numberOfLeakedQueries()).isEqualTo(2);
        assertThat(detector.leakedBytes()).isEqualTo(120);
        assertThat(metrics.snapshot()).containsEntry("leaked-queries", 2L).containsEntry("leaked-bytes", 120L);
    }

    @Test
    void warnsOnceWhenAQueryIsFirstFlaggedNamingTheQueryAndItsBytes()
    {
        // operators need to see which query leaked and how much; repeating it every second would drown the log
        List<LogRecord> records = new ArrayList<>();
        Logger logger = Logger.getLogger(ClusterMemoryLeakDetector.class.getName());
        Handler handler = new Handler()
        {
            @Override
            public void publish(LogRecord record)
            {
                records.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(handler);
        try {
            MemoryLeakDetector detector = detector(Map.of());
            var known = known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofHours(1))));
            detector.checkForLeaks(known, reservations(Map.of("q1", 2048L)));
            detector.checkForLeaks(known, reservations(Map.of("q1", 2048L)));

            assertThat(records).hasSize(1);
            assertThat(records.get(0).getLevel()).isEqualTo(Level.WARNING);
            assertThat(records.get(0).getMessage())
                    .contains("Query q1 possibly leaked memory")
                    .contains("2kB (2048 bytes)")
                    .contains("ended (FINISHED) at 2024-01-01T11:00:00Z, 1h ago, past the 1m grace period");
        }
        finally {
            logger.removeHandler(handler);
        }
    }

    @Test
    void keepsARecordOfCollectedContextsPerQueryUntilItExpires()
    {
        // contexts collected unclosed point at a host bug; the record must help diagnose it without growing forever
        ClusterMemoryLeakDetector detector = (ClusterMemoryLeakDetector) detector(Map.of());
        QueryId q1 = query("q1");

        detector.contextCollected(q1, TaskId.of(q1, "0"), "HashAggregation", 100);
        detector.contextCollected(q1, TaskId.of(q1, "1"), "OrderBy", 50);
        detector.contextCollected(q1, null, null, 0);

        assertThat(detector.collectedContexts(q1)).hasValueSatisfying(collected -> {
            assertThat(collected.contexts()).isEqualTo(3);
            assertThat(collected.bytes()).isEqualTo(150);
            assertThat(collected.tags()).containsExactly("HashAggregation", "OrderBy");
        });
        assertThat(detector.collectedContexts(query("q2"))).isEmpty();
        assertThat(metrics.snapshot()).containsEntry("collected-contexts", 3L).containsEntry("collected-context-bytes", 150L);

        clock.advance(ClusterMemoryLeakDetector.COLLECTED_CONTEXTS_RETENTION.plusSeconds(1));
        assertThat(detector.collectedContexts(q1)).isEmpty();
    }

    @Test
    void writesDurationsTheWayTheyAreConfigured()
    {
        // the warning should read like the grace key, not like ISO-8601
        assertThat(ClusterMemoryLeakDetector.format(Duration.ofSeconds(60))).isEqualTo("1m");
        assertThat(ClusterMemoryLeakDetector.format(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(ClusterMemoryLeakDetector.format(Duration.ofMillis(60_001))).isEqualTo("60001ms");
        assertThat(ClusterMemoryLeakDetector.format(Duration.ZERO)).isEqualTo("0ns");
    }

    private MemoryLeakDetector detector(Map<String, String> config)
    {
        return new ClusterMemoryLeakDetectorFactory().create(PolicyConfig.of("memory.leak-detector.leak-detector.", config), context);
    }
}
