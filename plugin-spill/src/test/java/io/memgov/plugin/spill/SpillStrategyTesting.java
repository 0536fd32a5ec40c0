package io.memgov.plugin.spill;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.testing.TestingNodeContext;

import java.time.Instant;
import java.util.List;

/** Tables for strategy tests: consumers are written {@code consumer(id, task, bytes, taskCreatedAtSecond, order)}. */
final class SpillStrategyTesting
{
    static final long MB = 1024 * 1024;

    private SpillStrategyTesting() {}

    static RevocableConsumerInfo consumer(long id, String task, long bytes, long taskCreatedAtSecond, long registrationOrder)
    {
        return new RevocableConsumerInfo(id, TaskId.valueOf(task), "Op" + id, bytes, Instant.ofEpochSecond(taskCreatedAtSecond), registrationOrder, false);
    }

    static RevocableConsumerInfo requester(long id, String task, long bytes, long taskCreatedAtSecond, long registrationOrder)
    {
        return new RevocableConsumerInfo(id, TaskId.valueOf(task), "Op" + id, bytes, Instant.ofEpochSecond(taskCreatedAtSecond), registrationOrder, true);
    }

    /** A pool snapshot with only the totals a strategy reads. */
    static MemoryPoolInfo pool(long maxBytes, long reservedBytes, long revocableBytes)
    {
        return new MemoryPoolInfo("general", maxBytes, reservedBytes, revocableBytes,
                java.util.Map.of(), java.util.Map.of(), java.util.Map.of(), java.util.Map.of(), java.util.Map.of());
    }

    static MemoryPoolInfo pool(List<RevocableConsumerInfo> consumers, long maxBytes, long reservedBytes)
    {
        return pool(maxBytes, reservedBytes, consumers.stream().mapToLong(RevocableConsumerInfo::revocableBytes).sum());
    }

    static List<Long> ids(List<RevokeRequest> requests)
    {
        return requests.stream().map(RevokeRequest::consumerId).toList();
    }

    static SpillStrategyContext context()
    {
        return TestingNodeContext.builder().nodeId("n1").heapBytes(1024 * MB).poolBytes(700 * MB).build();
    }
}
