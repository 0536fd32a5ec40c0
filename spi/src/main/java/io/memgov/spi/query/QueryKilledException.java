package io.memgov.spi.query;

/**
 * Thrown to a query's own accounting calls after memory governance killed or retired the query (or the task
 * making the call). The first reason a query was failed for is kept: later kills do not replace it.
 *
 * @since 1.0
 */
public class QueryKilledException
        extends MemoryGovernanceException
{
    public QueryKilledException(ErrorCode errorCode, String message)
    {
        super(errorCode, message);
    }
}
