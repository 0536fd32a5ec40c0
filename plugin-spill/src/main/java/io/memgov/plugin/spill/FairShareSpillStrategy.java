package io.memgov.plugin.spill;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;

import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * DataFusion's {@code FairSpillPool} as a revoking rule. Each spilling consumer is entitled to
 * {@code share = (pool.maxBytes - pool.reservedBytes) / spillers} bytes, where
 * <ul>
 *     <li>the unspillable memory is {@link MemoryPoolInfo#reservedBytes()}, the pool's user (and system) memory, which
 *     cannot be taken back, and</li>
 *     <li>the spillers are the consumers offered that hold revocable bytes (DataFusion counts registered spillable
 *     consumers; a consumer holding nothing has no claim on the pool here, and one already being revoked is not
 *     offered, so it is not counted either).</li>
 * </ul>
 * Every consumer above its share is revoked, the most over its share first, even when fewer bytes would do: in
 * DataFusion a spiller can never hold more than its share, so the share is enforced rather than merely preferred.
 * If that does not cover {@code bytesToRevoke}, the others follow largest first until it is covered. Ties go to the
 * older task, then the earlier registration. No config keys.
 */
final class FairShareSpillStrategy
        implements SpillStrategy
{
    static final String NAME = "fair-share";

    @Override
    public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        requireNonNull(pool, "pool is null");
        requireNonNull(consumers, "consumers is null");
        List<RevocableConsumerInfo> spillers = Consumers.holdingBytes(consumers);
        if (spillers.isEmpty()) {
            return List.of();
        }
        long share = fairShare(pool, spillers.size());
        // with one share for all, "most over the share" is "largest"
        spillers.sort(Consumers.LARGEST_FIRST);

        List<RevokeRequest> requests = new ArrayList<>();
        long remaining = bytesToRevoke;
        for (RevocableConsumerInfo consumer : spillers) {
            if (consumer.revocableBytes() <= share && remaining <= 0) {
                break;
            }
            requests.add(Consumers.request(consumer));
            remaining -= consumer.revocableBytes();
        }
        return requests;
    }

    /** {@code (max - unspillable) / spillers}, never negative: an over-committed pool leaves no share at all. */
    static long fairShare(MemoryPoolInfo pool, int spillers)
    {
        long spillable = Math.max(0, pool.maxBytes() - pool.reservedBytes());
        return spillable / spillers;
    }

    @Override
    public String toString()
    {
        return NAME;
    }
}
