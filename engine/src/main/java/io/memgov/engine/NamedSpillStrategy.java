package io.memgov.engine;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;

import java.util.List;

import static java.util.Objects.requireNonNull;

/** A spill strategy that reads as its policy name in the revoking scheduler's log lines. */
record NamedSpillStrategy(SpillStrategy delegate, String name)
        implements SpillStrategy
{
    NamedSpillStrategy
    {
        requireNonNull(delegate, "delegate is null");
        requireNonNull(name, "name is null");
    }

    @Override
    public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        return delegate.chooseConsumersToRevoke(pool, consumers, bytesToRevoke);
    }

    @Override
    public String toString()
    {
        return name;
    }
}
