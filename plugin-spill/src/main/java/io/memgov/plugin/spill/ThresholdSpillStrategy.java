package io.memgov.plugin.spill;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Trino's {@code MemoryRevokingScheduler} order: tasks oldest first by creation time, each task's operators in
 * registration order, until the revocable bytes asked for add up to {@code bytesToRevoke}. The last consumer taken
 * may overshoot: a consumer always gives back all its revocable memory. No config keys.
 */
final class ThresholdSpillStrategy
        implements SpillStrategy
{
    static final String NAME = "threshold";

    @Override
    public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        requireNonNull(pool, "pool is null");
        requireNonNull(consumers, "consumers is null");
        return Consumers.takeUntilCovered(Consumers.byTaskAge(Consumers.holdingBytes(consumers)), bytesToRevoke);
    }

    @Override
    public String toString()
    {
        return NAME;
    }
}
