package io.memgov.spi.spill;

import io.memgov.spi.policy.NodePolicyContext;

/**
 * What the engine offers a spill strategy: its node, a clock, a scheduler and metrics.
 *
 * @since 1.0
 */
public interface SpillStrategyContext
        extends NodePolicyContext
{
}
