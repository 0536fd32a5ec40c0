package io.memgov.plugin.leakdetector;

import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * Builds leak-detector inputs from tables: {@code reservations(Map.of("q1", 1L))} says q1 holds one byte, and
 * {@code known(Map.of("q1", ended(QueryState.FINISHED, Duration.ofHours(1))))} says the host knows q1 as finished an
 * hour before {@link #NOW}.
 */
final class LeakFixtures
{
    static final Instant NOW = Instant.parse("2024-01-01T12:00:00Z");

    private LeakFixtures() {}

    static QueryId query(String id)
    {
        return QueryId.of(id);
    }

    /** Query, then bytes held over all nodes. */
    static Map<QueryId, Long> reservations(Map<String, Long> bytesByQuery)
    {
        Map<QueryId, Long> reservations = new HashMap<>();
        bytesByQuery.forEach((query, bytes) -> reservations.put(query(query), bytes));
        return reservations;
    }

    /** Query, then what the host says about it. */
    static Map<QueryId, KnownQuery> known(Map<String, Status> statusByQuery)
    {
        Map<QueryId, KnownQuery> known = new HashMap<>();
        statusByQuery.forEach((query, status) -> known.put(query(query), status.toKnownQuery(query(query))));
        return known;
    }

    static Status running()
    {
        return new Status(QueryState.RUNNING, null);
    }

    /** The query ended this long before {@link #NOW}. */
    static Status ended(QueryState state, Duration ago)
    {
        return new Status(state, requireNonNull(ago, "ago is null"));
    }

    record Status(QueryState state, Duration endedAgo)
    {
        KnownQuery toKnownQuery(QueryId queryId)
        {
            return state == QueryState.RUNNING ? KnownQuery.running(queryId) : KnownQuery.ended(queryId, state, NOW.minus(endedAgo));
        }
    }
}
