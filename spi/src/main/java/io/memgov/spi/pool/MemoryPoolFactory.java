package io.memgov.spi.pool;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates the pools of a pool policy, selected by {@code memory.pool.policy}.
 *
 * @since 1.0
 */
public interface MemoryPoolFactory
        extends PolicyFactory<MemoryPoolContext, MemoryPoolLayout>
{
    /**
     * Creates the pools of one node, once per node at start-up. Most policies have one pool
     * ({@code MemoryPoolLayout.of(pool)}); a policy with several pools per node (Presto's GENERAL and RESERVED) lists
     * them, the general one first, and usually also offers a {@code io.memgov.spi.assignment.MemoryPoolAssignerFactory}
     * of the same name so that the cluster loop can move queries between them.
     *
     * @param config the keys under {@code memory.pool.<name>.}, prefix stripped; never null
     * @return the node's pools, the general one first; never null
     */
    @Override
    MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context);
}
