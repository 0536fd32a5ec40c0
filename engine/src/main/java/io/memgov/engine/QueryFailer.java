package io.memgov.engine;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;

/**
 * Fails a query everywhere it runs and tells the host. The first failure of a query is kept.
 */
@FunctionalInterface
interface QueryFailer
{
    boolean fail(QueryId queryId, ErrorCode errorCode, String message);
}
