package io.memgov.spi.cluster;

import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.TaskId;

import java.time.Duration;

import static java.util.Objects.requireNonNull;

/**
 * One task of a running query, as the cluster loop saw it in the last snapshot.
 *
 * @param taskId never null
 * @param nodeId the node the task runs on; never null
 * @param reservedBytes user bytes the task holds; non-negative
 * @param revocableBytes revocable bytes the task holds; non-negative
 * @param speculative true for speculative (optional) work, which task killers prefer to kill
 * @param executionTime scheduled plus blocked time so far, the work lost if the task is killed; never null or negative
 * @since 1.0
 */
public record TaskMemoryInfo(TaskId taskId, NodeId nodeId, long reservedBytes, long revocableBytes, boolean speculative, Duration executionTime)
{
    public TaskMemoryInfo
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(executionTime, "executionTime is null");
        if (reservedBytes < 0) {
            throw new IllegalArgumentException("reservedBytes is negative: " + reservedBytes);
        }
        if (revocableBytes < 0) {
            throw new IllegalArgumentException("revocableBytes is negative: " + revocableBytes);
        }
        if (executionTime.isNegative()) {
            throw new IllegalArgumentException("executionTime is negative: " + executionTime);
        }
    }
}
