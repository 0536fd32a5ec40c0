package io.memgov.spi.leak;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;

import java.time.Instant;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A query the host knows about, as reported to the engine.
 *
 * @param queryId never null
 * @param state never null
 * @param endTime when the query ended; null exactly when {@code state} is {@link QueryState#RUNNING}
 * @since 1.0
 */
public record KnownQuery(QueryId queryId, QueryState state, Instant endTime)
{
    public KnownQuery
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(state, "state is null");
        if ((state == QueryState.RUNNING) != (endTime == null)) {
            throw new IllegalArgumentException("endTime must be null exactly when the query is RUNNING: " + state + ", " + endTime);
        }
    }

    public static KnownQuery running(QueryId queryId)
    {
        return new KnownQuery(queryId, QueryState.RUNNING, null);
    }

    public static KnownQuery ended(QueryId queryId, QueryState state, Instant endTime)
    {
        return new KnownQuery(queryId, state, requireNonNull(endTime, "endTime is null"));
    }

    /** When the query ended, or empty while it runs. */
    public Optional<Instant> end()
    {
        return Optional.ofNullable(endTime);
    }
}
