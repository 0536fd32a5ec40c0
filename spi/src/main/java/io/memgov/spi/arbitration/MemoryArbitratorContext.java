package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.policy.NodePolicyContext;

/**
 * What the engine offers an arbitrator: its node, a clock, a scheduler and metrics.
 *
 * @since 1.0
 */
@Experimental
public interface MemoryArbitratorContext
        extends NodePolicyContext
{
}
