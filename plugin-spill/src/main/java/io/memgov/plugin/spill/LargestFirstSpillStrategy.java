package io.memgov.plugin.spill;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Presto's {@code ORDER_BY_REVOCABLE_BYTES}: the consumer holding the most revocable bytes first (ties: older task,
 * then registration order), until {@code bytesToRevoke} is covered. Frees the memory with the fewest spills, at the
 * price of spilling the operators that did the most work. No config keys.
 */
final class LargestFirstSpillStrategy
        implements SpillStrategy
{
    static final String NAME = "largest-first";

    @Override
    public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        requireNonNull(pool, "pool is null");
        requireNonNull(consumers, "consumers is null");
        List<RevocableConsumerInfo> ordered = Consumers.holdingBytes(consumers);
        ordered.sort(Consumers.LARGEST_FIRST);
        return Consumers.takeUntilCovered(ordered, bytesToRevoke);
    }

    @Override
    public String toString()
    {
        return NAME;
    }
}
