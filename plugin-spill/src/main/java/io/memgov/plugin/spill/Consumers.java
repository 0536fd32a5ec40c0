package io.memgov.plugin.spill;

import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Orderings and selection rules shared by the strategies. */
final class Consumers
{
    /** Older task first, then the operator registered first; the tie-break every strategy uses. */
    static final Comparator<RevocableConsumerInfo> OLDEST_FIRST = Comparator
            .comparing(RevocableConsumerInfo::taskCreateTime)
            .thenComparingLong(RevocableConsumerInfo::registrationOrder)
            .thenComparingLong(RevocableConsumerInfo::consumerId);

    /** Larger revocable bytes first, ties by {@link #OLDEST_FIRST}. */
    static final Comparator<RevocableConsumerInfo> LARGEST_FIRST = Comparator
            .comparingLong(RevocableConsumerInfo::revocableBytes).reversed()
            .thenComparing(OLDEST_FIRST);

    /** Smaller revocable bytes first, ties by {@link #OLDEST_FIRST}. */
    static final Comparator<RevocableConsumerInfo> SMALLEST_FIRST = Comparator
            .comparingLong(RevocableConsumerInfo::revocableBytes)
            .thenComparing(OLDEST_FIRST);

    private Consumers() {}

    /** The consumers that hold revocable bytes; a consumer with none has nothing to give back. */
    static List<RevocableConsumerInfo> holdingBytes(List<RevocableConsumerInfo> consumers)
    {
        List<RevocableConsumerInfo> holding = new ArrayList<>(consumers.size());
        for (RevocableConsumerInfo consumer : consumers) {
            if (consumer.revocableBytes() > 0) {
                holding.add(consumer);
            }
        }
        return holding;
    }

    /**
     * Trino's traversal: tasks oldest first, then each task's operators in registration order. Consumers of one task
     * stay together even when another task was created at the same instant (ties go to the task whose first operator
     * registered first).
     */
    static List<RevocableConsumerInfo> byTaskAge(List<RevocableConsumerInfo> consumers)
    {
        Map<TaskId, RevocableConsumerInfo> firstOfTask = new HashMap<>();
        for (RevocableConsumerInfo consumer : consumers) {
            firstOfTask.merge(consumer.taskId(), consumer, (a, b) -> OLDEST_FIRST.compare(a, b) <= 0 ? a : b);
        }
        List<RevocableConsumerInfo> ordered = new ArrayList<>(consumers);
        ordered.sort(Comparator
                .comparing((RevocableConsumerInfo consumer) -> firstOfTask.get(consumer.taskId()), OLDEST_FIRST)
                .thenComparing(RevocableConsumerInfo::taskId)
                .thenComparingLong(RevocableConsumerInfo::registrationOrder)
                .thenComparingLong(RevocableConsumerInfo::consumerId));
        return ordered;
    }

    /** Takes consumers in the given order until their bytes add up to at least {@code bytesToRevoke}. */
    static List<RevokeRequest> takeUntilCovered(List<RevocableConsumerInfo> ordered, long bytesToRevoke)
    {
        List<RevokeRequest> requests = new ArrayList<>();
        long remaining = bytesToRevoke;
        for (RevocableConsumerInfo consumer : ordered) {
            if (remaining <= 0) {
                break;
            }
            requests.add(request(consumer));
            remaining -= consumer.revocableBytes();
        }
        return requests;
    }

    static RevokeRequest request(RevocableConsumerInfo consumer)
    {
        return new RevokeRequest(consumer.consumerId(), consumer.revocableBytes());
    }
}
