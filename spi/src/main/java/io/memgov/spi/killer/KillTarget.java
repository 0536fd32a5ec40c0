package io.memgov.spi.killer;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * What a {@link LowMemoryKiller} chose: a whole query or a set of tasks.
 *
 * @since 1.0
 */
public sealed interface KillTarget
        permits KillTarget.WholeQuery, KillTarget.Tasks
{
    /** Kill every task of the query and fail it. */
    static KillTarget wholeQuery(QueryId queryId)
    {
        return new WholeQuery(queryId);
    }

    /** Kill these tasks only; their queries may retry them. */
    static KillTarget tasks(Set<TaskId> taskIds)
    {
        return new Tasks(taskIds);
    }

    /** @param queryId never null */
    record WholeQuery(QueryId queryId)
            implements KillTarget
    {
        public WholeQuery
        {
            requireNonNull(queryId, "queryId is null");
        }
    }

    /** @param taskIds never null or empty */
    record Tasks(Set<TaskId> taskIds)
            implements KillTarget
    {
        public Tasks
        {
            taskIds = Set.copyOf(requireNonNull(taskIds, "taskIds is null"));
            if (taskIds.isEmpty()) {
                throw new IllegalArgumentException("taskIds is empty");
            }
        }
    }
}
