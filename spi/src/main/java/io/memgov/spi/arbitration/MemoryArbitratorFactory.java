package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates a node's arbitrator, selected by {@code memory.arbitrator.policy}.
 *
 * @since 1.0
 */
@Experimental
public interface MemoryArbitratorFactory
        extends PolicyFactory<MemoryArbitratorContext, MemoryArbitrator>
{
    /**
     * Creates the arbitrator of one node, once per node at start-up.
     *
     * @param config the keys under {@code memory.arbitrator.<name>.}, prefix stripped; never null
     */
    @Override
    MemoryArbitrator create(PolicyConfig config, MemoryArbitratorContext context);
}
