package io.memgov.engine;

import io.memgov.engine.internal.revoke.MemoryRevokingScheduler;
import io.memgov.spi.query.NodeId;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/** The revoking scheduler of every node whose spill strategy is not {@code none}; started with the engine. */
record RevokingSchedulers(Map<NodeId, MemoryRevokingScheduler> byNode)
{
    RevokingSchedulers
    {
        byNode = Map.copyOf(requireNonNull(byNode, "byNode is null"));
    }
}
