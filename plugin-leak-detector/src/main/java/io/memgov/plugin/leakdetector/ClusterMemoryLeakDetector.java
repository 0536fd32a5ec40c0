package io.memgov.plugin.leakdetector;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * Leak detector {@code leak-detector}, Trino's {@code ClusterMemoryLeakDetector} with Presto's leaked-bytes count
 * and warning. A query that holds memory (more than zero bytes, user plus revocable) is judged leaked when
 * <ul>
 *   <li>the host does not know it at all, or</li>
 *   <li>it is no longer {@link QueryState#RUNNING} and it ended more than {@link LeakDetectorConfig#grace() grace}
 *       ago ({@code endTime + grace} is before now, by the engine's clock). The grace period lets the nodes free
 *       what a query held after it ended, which they do asynchronously.</li>
 * </ul>
 * A running query is never leaked, however much it holds.
 *
 * <p>Each check replaces the previous result. A query is logged at {@code WARNING} (through {@link System.Logger})
 * when a check flags it and the previous one did not, so a lasting leak is reported once, not every second. Each
 * check publishes the gauges {@code leaked-queries} and {@code leaked-bytes}.
 *
 * <p>Also keeps, per query, what the engine reports through {@link #contextCollected}: memory contexts that were
 * garbage-collected without being closed. The record is bounded ({@value #MAX_QUERIES_WITH_COLLECTED_CONTEXTS}
 * queries) and each entry expires {@link #COLLECTED_CONTEXTS_RETENTION} after the query's latest report, by the
 * engine's clock; it is exposed by {@link #collectedContexts(QueryId)}, counted in the counters
 * {@code collected-contexts} and {@code collected-context-bytes}, and mentioned in the warning of a leaked query.
 *
 * <p><b>Threads.</b> {@link #checkForLeaks} runs on the cluster loop, one call at a time; everything else is safe
 * from any thread. The last result is published through one volatile field, so readers see a whole check.
 */
final class ClusterMemoryLeakDetector
        implements MemoryLeakDetector
{
    static final int MAX_QUERIES_WITH_COLLECTED_CONTEXTS = 10_000;
    static final Duration COLLECTED_CONTEXTS_RETENTION = Duration.ofHours(1);

    private static final System.Logger LOG = System.getLogger(ClusterMemoryLeakDetector.class.getName());

    private final Duration grace;
    private final Clock clock;
    private final MetricsSink metrics;
    private final Cache<QueryId, CollectedContexts> collectedContexts;

    private volatile Result lastResult = Result.NONE;

    ClusterMemoryLeakDetector(LeakDetectorConfig config, Clock clock, MetricsSink metrics)
    {
        this.grace = requireNonNull(config, "config is null").grace();
        this.clock = requireNonNull(clock, "clock is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.collectedContexts = Caffeine.newBuilder()
                .maximumSize(MAX_QUERIES_WITH_COLLECTED_CONTEXTS)
                .expireAfterWrite(COLLECTED_CONTEXTS_RETENTION)
                // expire by the engine's clock, so that tests control it; clean up on the caller's thread, so that no
                // work runs in a pool this plugin does not own
                .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
                .executor(Runnable::run)
                .build();
    }

    @Override
    public Set<QueryId> checkForLeaks(Map<QueryId, KnownQuery> knownQueries, Map<QueryId, Long> queryReservations)
    {
        requireNonNull(knownQueries, "knownQueries is null");
        requireNonNull(queryReservations, "queryReservations is null");
        Instant now = clock.instant();

        Map<QueryId, Long> leaked = new TreeMap<>();
        for (Map.Entry<QueryId, Long> reservation : queryReservations.entrySet()) {
            Long bytes = reservation.getValue();
            if (bytes != null && bytes > 0 && isLeaked(knownQueries.get(reservation.getKey()), now)) {
                leaked.put(reservation.getKey(), bytes);
            }
        }

        Result previous = lastResult;
        Result result = new Result(leaked);
        lastResult = result;
        metrics.gauge("leaked-queries", result.leaked().size());
        metrics.gauge("leaked-bytes", result.leakedBytes());
        for (Map.Entry<QueryId, Long> query : result.leaked().entrySet()) {
            if (!previous.leaked().containsKey(query.getKey())) {
                warn(query.getKey(), query.getValue(), knownQueries.get(query.getKey()), now);
            }
        }
        return result.leaked().keySet();
    }

    @Override
    public boolean wasQueryPossiblyLeaked(QueryId queryId)
    {
        requireNonNull(queryId, "queryId is null");
        return lastResult.leaked().containsKey(queryId);
    }

    @Override
    public int numberOfLeakedQueries()
    {
        return lastResult.leaked().size();
    }

    @Override
    public long leakedBytes()
    {
        return lastResult.leakedBytes();
    }

    /** Records the report; a negative {@code bytes} counts as zero, so that a bad report cannot break the cleaner. */
    @Override
    public void contextCollected(QueryId queryId, TaskId taskId, String tag, long bytes)
    {
        requireNonNull(queryId, "queryId is null");
        long held = Math.max(bytes, 0);
        collectedContexts.asMap().merge(queryId, CollectedContexts.first(queryId, tag, held, clock.instant()), CollectedContexts::plus);
        metrics.increment("collected-contexts", 1);
        metrics.increment("collected-context-bytes", held);
    }

    /**
     * What was reported about the query's garbage-collected contexts within the last
     * {@link #COLLECTED_CONTEXTS_RETENTION}; empty if nothing was, or the record was evicted to stay bounded.
     */
    Optional<CollectedContexts> collectedContexts(QueryId queryId)
    {
        requireNonNull(queryId, "queryId is null");
        return Optional.ofNullable(collectedContexts.getIfPresent(queryId));
    }

    private boolean isLeaked(KnownQuery query, Instant now)
    {
        if (query == null) {
            return true;
        }
        return query.state() != QueryState.RUNNING
                && query.end().map(end -> end.plus(grace).isBefore(now)).orElse(false);
    }

    private void warn(QueryId queryId, long bytes, KnownQuery query, Instant now)
    {
        StringBuilder message = new StringBuilder()
                .append("Query ").append(queryId)
                .append(" possibly leaked memory: it still holds ").append(DataSizes.succinct(bytes));
        if (bytes >= 1024) {
            message.append(" (").append(bytes).append(" bytes)");
        }
        if (query == null) {
            message.append(" but the host does not know it");
        }
        else {
            message.append(" though it ended (").append(query.state())
                    .append(") at ").append(query.endTime())
                    .append(", ").append(format(Duration.between(query.endTime(), now)))
                    .append(" ago, past the ").append(format(grace)).append(" grace period");
        }
        collectedContexts(queryId).ifPresent(collected -> message
                .append("; ").append(collected.contexts())
                .append(" of its memory contexts were garbage-collected without being closed, holding ")
                .append(DataSizes.succinct(collected.bytes())));
        LOG.log(Level.WARNING, message.toString());
    }

    /** In the largest unit that keeps it whole, the way the {@code grace} key is written: {@code 1h}, {@code 90s}. */
    static String format(Duration duration)
    {
        long nanos;
        try {
            nanos = duration.toNanos();
        }
        catch (ArithmeticException e) {
            return duration.toString();
        }
        String[] units = {"d", "h", "m", "s", "ms", "us"};
        long[] sizes = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L};
        for (int i = 0; i < units.length; i++) {
            if (nanos != 0 && nanos % sizes[i] == 0) {
                return nanos / sizes[i] + units[i];
            }
        }
        return nanos + "ns";
    }

    /** One check's verdict: the leaked queries, in id order, with the bytes each held. */
    private record Result(Map<QueryId, Long> leaked, long leakedBytes)
    {
        static final Result NONE = new Result(Map.of());

        Result(Map<QueryId, Long> leaked)
        {
            this(leaked, leaked.values().stream().mapToLong(Long::longValue).reduce(0, Result::saturatedAdd));
        }

        Result
        {
            leaked = Collections.unmodifiableMap(new TreeMap<>(leaked));
        }

        private static long saturatedAdd(long left, long right)
        {
            long sum = left + right;
            return sum < 0 ? Long.MAX_VALUE : sum;
        }
    }
}
