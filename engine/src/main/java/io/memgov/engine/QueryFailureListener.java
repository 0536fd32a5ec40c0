package io.memgov.engine;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.Set;

/**
 * Tells the host that memory governance failed one of its queries, or some of its tasks, and why. Called on the
 * thread that decided it (the cluster loop, a pool's checker, a tracker's caller) after the memory was released;
 * must not block.
 */
@FunctionalInterface
public interface QueryFailureListener
{
    /**
     * @param tasks the tasks killed, or empty when the whole query failed
     * @param errorCode never null
     * @param message the message the query should fail with; never null
     */
    void onQueryFailed(QueryId queryId, Set<TaskId> tasks, ErrorCode errorCode, String message);
}
