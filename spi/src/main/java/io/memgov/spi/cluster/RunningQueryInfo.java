package io.memgov.spi.cluster;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * A query that is running when a killer is asked to choose.
 *
 * @param queryId never null
 * @param user who runs it; never null
 * @param totalReservationBytes user plus revocable bytes over all nodes; non-negative
 * @param tasks the query's tasks by id, with their node and reservation; never null, may be empty
 * @param retryPolicy never null
 * @param priority larger means more important; killers may use it, the built-in ones do not
 * @param startTime when the query started; never null
 * @param executionTime how long it has run; never null or negative
 * @param resourceOvercommit true if the session set {@code resource_overcommit}
 * @since 1.0
 */
public record RunningQueryInfo(
        QueryId queryId,
        String user,
        long totalReservationBytes,
        Map<TaskId, TaskMemoryInfo> tasks,
        RetryPolicy retryPolicy,
        int priority,
        Instant startTime,
        Duration executionTime,
        boolean resourceOvercommit)
{
    public RunningQueryInfo
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(user, "user is null");
        requireNonNull(retryPolicy, "retryPolicy is null");
        requireNonNull(startTime, "startTime is null");
        requireNonNull(executionTime, "executionTime is null");
        tasks = Map.copyOf(requireNonNull(tasks, "tasks is null"));
        if (totalReservationBytes < 0) {
            throw new IllegalArgumentException("totalReservationBytes is negative: " + totalReservationBytes);
        }
        if (executionTime.isNegative()) {
            throw new IllegalArgumentException("executionTime is negative: " + executionTime);
        }
        for (Map.Entry<TaskId, TaskMemoryInfo> task : tasks.entrySet()) {
            if (!task.getKey().equals(task.getValue().taskId())) {
                throw new IllegalArgumentException("task " + task.getValue().taskId() + " is filed under " + task.getKey());
            }
            if (!task.getKey().queryId().equals(queryId)) {
                throw new IllegalArgumentException("task " + task.getKey() + " does not belong to query " + queryId);
            }
        }
    }
}
