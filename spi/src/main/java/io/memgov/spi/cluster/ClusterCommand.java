package io.memgov.spi.cluster;

import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * What the cluster loop sends to the nodes: the only thing that crosses from the coordinator to a node. Applying a
 * command twice has the effect of applying it once (a query is failed once; an assignment not newer than the one a
 * node applied is ignored), so a transport may deliver at least once. Immutable.
 *
 * @since 1.0
 */
public sealed interface ClusterCommand
        permits ClusterCommand.KillQuery, ClusterCommand.KillTasks, ClusterCommand.AssignPools
{
    /**
     * Fail the query on every node that runs it, releasing what it holds there, and tell the host.
     *
     * @param queryId never null
     * @param errorCode never null
     * @param message never null
     */
    record KillQuery(QueryId queryId, ErrorCode errorCode, String message)
            implements ClusterCommand
    {
        public KillQuery
        {
            requireNonNull(queryId, "queryId is null");
            requireNonNull(errorCode, "errorCode is null");
            requireNonNull(message, "message is null");
        }
    }

    /**
     * Fail these tasks on the nodes that run them; their queries may retry them.
     *
     * @param taskIds never null or empty
     * @param errorCode never null
     * @param message never null
     */
    record KillTasks(Set<TaskId> taskIds, ErrorCode errorCode, String message)
            implements ClusterCommand
    {
        public KillTasks
        {
            taskIds = Set.copyOf(requireNonNull(taskIds, "taskIds is null"));
            if (taskIds.isEmpty()) {
                throw new IllegalArgumentException("taskIds is empty");
            }
            requireNonNull(errorCode, "errorCode is null");
            requireNonNull(message, "message is null");
        }
    }

    /**
     * Apply a pool assignment unless a version at least as new was applied already.
     *
     * @param assignment never null
     */
    record AssignPools(MemoryPoolAssignment assignment)
            implements ClusterCommand
    {
        public AssignPools
        {
            requireNonNull(assignment, "assignment is null");
        }
    }
}
