package io.memgov.engine;

import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.pool.ResizableMemoryPool;

/**
 * The engine's standard pool (policy {@code fixed}) outside an engine: what {@code MemoryPoolContext.createStandardPool}
 * hands a pool policy, for tests of such policies and for hosts that build pools themselves.
 */
public final class StandardMemoryPools
{
    private StandardMemoryPools() {}

    /**
     * A pool with Trino's semantics: lock-free per-query, per-task and per-tag counters, one shared blocking future,
     * listeners; resizable.
     *
     * @param poolId the pool's name on its node, e.g. {@code general}; never null
     * @param maxBytes the budget; non-negative
     */
    public static ResizableMemoryPool create(String poolId, long maxBytes)
    {
        return new FixedMemoryPool(poolId, maxBytes);
    }
}
