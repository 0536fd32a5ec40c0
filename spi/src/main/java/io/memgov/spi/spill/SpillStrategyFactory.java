package io.memgov.spi.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates a spill strategy, selected by {@code memory.spill-strategy.policy}.
 *
 * @since 1.0
 */
public interface SpillStrategyFactory
        extends PolicyFactory<SpillStrategyContext, SpillStrategy>
{
    /**
     * Creates the strategy of one node, once per node at start-up.
     *
     * @param config the keys under {@code memory.spill-strategy.<name>.}, prefix stripped; never null
     */
    @Override
    SpillStrategy create(PolicyConfig config, SpillStrategyContext context);
}
