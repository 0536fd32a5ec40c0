package io.memgov.spi.cluster;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * One query on one node, as its node's snapshot shows it: who runs it, its session's limits, its state, what it holds
 * and its tasks. A query whose host reported its end (by closing its context with a final state) stays in its node's
 * snapshots for a while with that state, so that the cluster loop knows it ended. Immutable.
 *
 * @param queryId never null
 * @param user never null
 * @param retryPolicy never null
 * @param priority larger means more important
 * @param resourceOvercommit true if the session set {@code resource_overcommit}
 * @param maxMemoryBytes the session's distributed user limit ({@code query_max_memory}), or {@link Long#MAX_VALUE}
 * @param maxTotalMemoryBytes the session's distributed total limit ({@code query_max_total_memory}), or
 *        {@link Long#MAX_VALUE}
 * @param startTime when the query started on this node; never null
 * @param state {@code RUNNING}, or the final state the host reported; never null
 * @param endTime when the host reported the end; null exactly while {@code state} is {@code RUNNING}
 * @param failure the code the query was failed with on this node (killed, over a limit); null if it was not
 * @param failureMessage the message it was failed with; null exactly when {@code failure} is null
 * @param userBytes user memory the query holds on the node; non-negative
 * @param systemBytes system memory the query holds on the node; non-negative
 * @param revocableBytes revocable memory the query holds on the node; non-negative
 * @param tasks the query's tasks on the node, ids unique; never null
 * @param cumulativeUserMemoryByteSeconds Presto's cumulative user memory: the user bytes the query held on the node
 *        integrated over time, in byte-seconds, from the node's samples (each snapshot the node takes, and the query's
 *        end), each period counted at the mean of the bytes at its two ends; non-negative and finite
 * @param cumulativeTotalMemoryByteSeconds the same for user plus system bytes (Presto's cumulative total memory,
 *        which leaves revocable memory out); non-negative and finite
 * @since 1.0
 */
public record QuerySnapshot(
        QueryId queryId,
        String user,
        RetryPolicy retryPolicy,
        int priority,
        boolean resourceOvercommit,
        long maxMemoryBytes,
        long maxTotalMemoryBytes,
        Instant startTime,
        QueryState state,
        Instant endTime,
        ErrorCode failure,
        String failureMessage,
        long userBytes,
        long systemBytes,
        long revocableBytes,
        List<TaskSnapshot> tasks,
        double cumulativeUserMemoryByteSeconds,
        double cumulativeTotalMemoryByteSeconds)
{
    public QuerySnapshot
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(user, "user is null");
        requireNonNull(retryPolicy, "retryPolicy is null");
        requireNonNull(startTime, "startTime is null");
        requireNonNull(state, "state is null");
        if ((state == QueryState.RUNNING) != (endTime == null)) {
            throw new IllegalArgumentException("endTime must be null exactly while the query is RUNNING: " + queryId + " " + state + ", " + endTime);
        }
        if ((failure == null) != (failureMessage == null)) {
            throw new IllegalArgumentException("failure and failureMessage must both be set or both be null: " + queryId + " " + failure + ", " + failureMessage);
        }
        if (maxMemoryBytes < 0 || maxTotalMemoryBytes < 0) {
            throw new IllegalArgumentException("session limits are negative: " + maxMemoryBytes + ", " + maxTotalMemoryBytes);
        }
        Snapshots.checkBytes("userBytes", userBytes);
        Snapshots.checkBytes("systemBytes", systemBytes);
        Snapshots.checkBytes("revocableBytes", revocableBytes);
        checkByteSeconds("cumulativeUserMemoryByteSeconds", cumulativeUserMemoryByteSeconds);
        checkByteSeconds("cumulativeTotalMemoryByteSeconds", cumulativeTotalMemoryByteSeconds);
        tasks = List.copyOf(requireNonNull(tasks, "tasks is null"));
        Set<Object> ids = new HashSet<>();
        for (TaskSnapshot task : tasks) {
            if (!task.taskId().queryId().equals(queryId)) {
                throw new IllegalArgumentException("task " + task.taskId() + " does not belong to query " + queryId);
            }
            if (!ids.add(task.taskId())) {
                throw new IllegalArgumentException("query " + queryId + " lists task " + task.taskId() + " twice");
            }
        }
    }

    /** A snapshot without cumulative memory figures (zero): the form of version 1.0. */
    public QuerySnapshot(
            QueryId queryId,
            String user,
            RetryPolicy retryPolicy,
            int priority,
            boolean resourceOvercommit,
            long maxMemoryBytes,
            long maxTotalMemoryBytes,
            Instant startTime,
            QueryState state,
            Instant endTime,
            ErrorCode failure,
            String failureMessage,
            long userBytes,
            long systemBytes,
            long revocableBytes,
            List<TaskSnapshot> tasks)
    {
        this(queryId, user, retryPolicy, priority, resourceOvercommit, maxMemoryBytes, maxTotalMemoryBytes, startTime, state, endTime, failure,
                failureMessage, userBytes, systemBytes, revocableBytes, tasks, 0, 0);
    }

    private static void checkByteSeconds(String name, double value)
    {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " is not a non-negative finite number: " + value);
        }
    }

    /** True while the host has not reported the query's end and it was not failed on this node. */
    public boolean isRunning()
    {
        return state == QueryState.RUNNING && failure == null;
    }

    /** The code the query was failed with on this node, or empty. */
    public Optional<ErrorCode> failureCode()
    {
        return Optional.ofNullable(failure);
    }

    /** User plus system bytes: what Presto's total limits count besides revocable memory. */
    public long userAndSystemBytes()
    {
        return userBytes + systemBytes;
    }

    /** User plus system plus revocable bytes. */
    public long totalBytes()
    {
        return userBytes + systemBytes + revocableBytes;
    }
}
