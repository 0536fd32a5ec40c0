package io.memgov.plugin.spill;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;

import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Spark's {@code TaskMemoryManager.acquireExecutionMemory}: among the consumers other than the requester, revoke the
 * smallest one that alone covers the remaining need; if none does, the largest; repeat with what is still needed.
 * Spilling one right-sized consumer avoids many small spill files. The requester (the consumer whose reservation
 * triggered revoking) is revoked last, and only when the others did not cover the need, as Spark's self-spill.
 * Ties go to the older task, then the earlier registration. No config keys.
 */
final class SmallestSufficientSpillStrategy
        implements SpillStrategy
{
    static final String NAME = "smallest-sufficient";

    @Override
    public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        requireNonNull(pool, "pool is null");
        requireNonNull(consumers, "consumers is null");
        List<RevocableConsumerInfo> others = new ArrayList<>();
        List<RevocableConsumerInfo> requesters = new ArrayList<>();
        for (RevocableConsumerInfo consumer : Consumers.holdingBytes(consumers)) {
            (consumer.requester() ? requesters : others).add(consumer);
        }
        // ascending by size; among equal sizes the older consumer comes first, so it is the one found
        others.sort(Consumers.SMALLEST_FIRST);

        List<RevokeRequest> requests = new ArrayList<>();
        long remaining = bytesToRevoke;
        while (remaining > 0 && !others.isEmpty()) {
            RevocableConsumerInfo chosen = smallestCovering(others, remaining);
            if (chosen == null) {
                chosen = largest(others);
            }
            others.remove(chosen);
            requests.add(Consumers.request(chosen));
            remaining -= chosen.revocableBytes();
        }
        requesters.sort(Consumers.OLDEST_FIRST);
        for (RevocableConsumerInfo requester : requesters) {
            if (remaining <= 0) {
                break;
            }
            requests.add(Consumers.request(requester));
            remaining -= requester.revocableBytes();
        }
        return requests;
    }

    private static RevocableConsumerInfo smallestCovering(List<RevocableConsumerInfo> ascending, long need)
    {
        for (RevocableConsumerInfo consumer : ascending) {
            if (consumer.revocableBytes() >= need) {
                return consumer;
            }
        }
        return null;
    }

    private static RevocableConsumerInfo largest(List<RevocableConsumerInfo> ascending)
    {
        // the first of the largest size, so that ties still go to the older consumer
        long largestBytes = ascending.get(ascending.size() - 1).revocableBytes();
        return smallestCovering(ascending, largestBytes);
    }

    @Override
    public String toString()
    {
        return NAME;
    }
}
