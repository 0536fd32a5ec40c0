package io.memgov.spi.query;

/**
 * How the host recovers a failed query, as in Trino's {@code retry_policy}. Task killers only kill tasks of
 * {@link #TASK} queries, because only those tasks can be retried without failing the query.
 *
 * @since 1.0
 */
public enum RetryPolicy
{
    NONE,
    QUERY,
    TASK,
}
