package io.memgov.spi.cluster;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * One task of a query on one node, as its node's snapshot shows it. Immutable.
 *
 * @param taskId never null
 * @param speculative true for speculative (optional) work, which task killers prefer to kill
 * @param executionTime how long the task has existed on its node, the work lost if it is killed; never negative
 * @param userBytes user memory the task holds; non-negative
 * @param systemBytes system memory the task holds (Presto); non-negative
 * @param revocableBytes revocable memory the task holds; non-negative
 * @param failure why the task was killed, when it was (on its own or with its query); null while it is alive
 * @since 1.0
 */
public record TaskSnapshot(TaskId taskId, boolean speculative, Duration executionTime, long userBytes, long systemBytes, long revocableBytes, ErrorCode failure)
{
    public TaskSnapshot
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(executionTime, "executionTime is null");
        if (executionTime.isNegative()) {
            throw new IllegalArgumentException("executionTime is negative: " + executionTime);
        }
        Snapshots.checkBytes("userBytes", userBytes);
        Snapshots.checkBytes("systemBytes", systemBytes);
        Snapshots.checkBytes("revocableBytes", revocableBytes);
    }

    /** Why the task was killed, or empty while it is alive. */
    public Optional<ErrorCode> failureCode()
    {
        return Optional.ofNullable(failure);
    }

    /** User plus system plus revocable bytes. */
    public long totalBytes()
    {
        return userBytes + systemBytes + revocableBytes;
    }
}
