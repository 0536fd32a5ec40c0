package io.memgov.spi.spill;

import io.memgov.spi.query.TaskId;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * One operator that holds revocable memory, as a spill strategy sees it.
 *
 * @param consumerId unique on the node for the engine's lifetime; identifies the consumer in a {@link RevokeRequest}
 * @param taskId the task the operator belongs to; never null
 * @param tag the operator kind, e.g. {@code HashAggregation}; never null
 * @param revocableBytes revocable bytes it holds now; non-negative
 * @param taskCreateTime when its task was created (Trino revokes oldest tasks first); never null
 * @param registrationOrder increases with each operator registered on the node (order within a task)
 * @param requester true if this consumer is the one whose request triggered revoking (Spark revokes it last)
 * @since 1.0
 */
public record RevocableConsumerInfo(
        long consumerId,
        TaskId taskId,
        String tag,
        long revocableBytes,
        Instant taskCreateTime,
        long registrationOrder,
        boolean requester)
{
    public RevocableConsumerInfo
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        requireNonNull(taskCreateTime, "taskCreateTime is null");
        if (revocableBytes < 0) {
            throw new IllegalArgumentException("revocableBytes is negative: " + revocableBytes);
        }
    }
}
