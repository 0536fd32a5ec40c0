package io.memgov.engine.node;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * The queries the host knows, across nodes: running ones (registered when their first node context is created) and
 * recently ended ones (reported by the host). Ended queries are remembered for a while (Caffeine, expiring after
 * {@link #ENDED_RETENTION}), long enough for the leak detector's grace period; a query forgotten here that still
 * holds memory is one the host "does not know", which is a leak. Thread-safe.
 */
public final class ClusterQueries
{
    public static final Duration ENDED_RETENTION = Duration.ofMinutes(15);

    private final Clock clock;
    private final Map<QueryId, QueryRecord> running = new ConcurrentHashMap<>();
    private final Cache<QueryId, KnownQuery> ended;

    public ClusterQueries(Clock clock)
    {
        this.clock = requireNonNull(clock, "clock is null");
        this.ended = Caffeine.newBuilder()
                .expireAfterWrite(ENDED_RETENTION)
                .maximumSize(100_000)
                .build();
    }

    /** What the engine knows of a running query. */
    public record QueryRecord(QueryId queryId, QuerySession session, Instant startTime)
    {
        public QueryRecord
        {
            requireNonNull(queryId, "queryId is null");
            requireNonNull(session, "session is null");
            requireNonNull(startTime, "startTime is null");
        }
    }

    /** Registers a running query the first time one of its node contexts is created; later calls keep the first. */
    QueryRecord started(QueryId queryId, QuerySession session)
    {
        ended.invalidate(queryId);
        return running.computeIfAbsent(queryId, id -> new QueryRecord(id, session, clock.instant()));
    }

    /**
     * The host reports that a query ended. From then on it is not running: the cluster loop no longer enforces its
     * limits nor offers it to killers, and the leak detector judges any memory it still holds after the grace period.
     */
    public void finished(QueryId queryId, QueryState state, Instant endTime)
    {
        requireNonNull(queryId, "queryId is null");
        if (state == QueryState.RUNNING) {
            throw new IllegalArgumentException("a finished query cannot be in state RUNNING: " + queryId);
        }
        running.remove(queryId);
        ended.put(queryId, KnownQuery.ended(queryId, state, endTime));
    }

    public Optional<QueryRecord> running(QueryId queryId)
    {
        return Optional.ofNullable(running.get(queryId));
    }

    public Map<QueryId, QueryRecord> running()
    {
        return Map.copyOf(running);
    }

    /** Every query the host knows: running and recently ended. */
    public Map<QueryId, KnownQuery> known()
    {
        Map<QueryId, KnownQuery> result = new HashMap<>(ended.asMap());
        running.keySet().forEach(queryId -> result.put(queryId, KnownQuery.running(queryId)));
        return result;
    }
}
