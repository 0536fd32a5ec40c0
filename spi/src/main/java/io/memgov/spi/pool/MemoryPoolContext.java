package io.memgov.spi.pool;

import io.memgov.spi.policy.NodePolicyContext;

import java.util.OptionalLong;

/**
 * What the engine offers a pool policy: the node, its heap and default budget ({@link #poolBytes()}), a clock,
 * a scheduler, metrics, a way to fail queries, and the engine's own pool implementation to build on.
 *
 * @since 1.0
 */
public interface MemoryPoolContext
        extends NodePolicyContext
{
    /**
     * Creates a pool with the engine's standard bookkeeping and Trino's semantics (the {@code fixed} policy):
     * lock-free per-query, per-task and per-tag counters, a shared blocking future and listeners. Policies that only
     * add admission rules (a per-query cap, a reserve of available memory) decorate it instead of re-implementing
     * the bookkeeping. The returned pool is resizable.
     *
     * @param poolId the pool's name on the node, e.g. {@code general}; never null
     * @param maxBytes the initial budget; non-negative
     */
    ResizableMemoryPool createStandardPool(String poolId, long maxBytes);

    /**
     * {@code query.max-total-memory-per-node} in bytes (Presto's per-query user+system limit on one node), or empty
     * when it is not set. Presto sizes its RESERVED pool with it. The default is empty, for engines that predate it.
     *
     */
    default OptionalLong maxQueryTotalMemoryPerNodeBytes()
    {
        return OptionalLong.empty();
    }
}
