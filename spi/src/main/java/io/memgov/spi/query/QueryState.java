package io.memgov.spi.query;

/**
 * What the host says about a query it knows.
 *
 * @since 1.0
 */
public enum QueryState
{
    RUNNING,
    FINISHED,
    FAILED,
}
