package io.memgov.plugin.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * Presto's {@code TaskThresholdMemoryRevokingScheduler} ({@code PER_TASK_MEMORY_THRESHOLD}): every consumer of every
 * task whose revocable bytes add up to more than {@code task-threshold} is revoked, whatever {@code bytesToRevoke}
 * says; tasks at or under the threshold are left alone even when the pool still needs memory. Tasks are taken oldest
 * first, operators in registration order.
 *
 * <p>Config: {@code task-threshold}, a size such as {@code 500MB} (the default, as in Presto).
 */
final class PerTaskThresholdSpillStrategy
        implements SpillStrategy
{
    static final String NAME = "per-task-threshold";
    static final String TASK_THRESHOLD = "task-threshold";
    static final long DEFAULT_TASK_THRESHOLD_BYTES = 500L * 1024 * 1024;

    private final long taskThresholdBytes;

    PerTaskThresholdSpillStrategy(long taskThresholdBytes)
    {
        if (taskThresholdBytes < 0) {
            throw new IllegalArgumentException("taskThresholdBytes is negative: " + taskThresholdBytes);
        }
        this.taskThresholdBytes = taskThresholdBytes;
    }

    static PerTaskThresholdSpillStrategy create(PolicyConfig config)
    {
        return new PerTaskThresholdSpillStrategy(config.size(TASK_THRESHOLD, DEFAULT_TASK_THRESHOLD_BYTES));
    }

    long taskThresholdBytes()
    {
        return taskThresholdBytes;
    }

    @Override
    public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        requireNonNull(pool, "pool is null");
        requireNonNull(consumers, "consumers is null");
        List<RevocableConsumerInfo> holding = Consumers.holdingBytes(consumers);
        Map<TaskId, Long> taskBytes = new HashMap<>();
        for (RevocableConsumerInfo consumer : holding) {
            // saturating: a sum past Long.MAX_VALUE is over any threshold anyway
            taskBytes.merge(consumer.taskId(), consumer.revocableBytes(), (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
        }
        List<RevokeRequest> requests = new ArrayList<>();
        for (RevocableConsumerInfo consumer : Consumers.byTaskAge(holding)) {
            if (taskBytes.get(consumer.taskId()) > taskThresholdBytes) {
                requests.add(Consumers.request(consumer));
            }
        }
        return requests;
    }

    @Override
    public String toString()
    {
        return NAME + "(" + taskThresholdBytes + "B)";
    }
}
