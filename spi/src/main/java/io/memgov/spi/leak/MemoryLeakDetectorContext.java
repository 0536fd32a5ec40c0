package io.memgov.spi.leak;

import io.memgov.spi.policy.PolicyContext;

/**
 * What the engine offers a leak detector: a clock, a scheduler and metrics.
 *
 * @since 1.0
 */
public interface MemoryLeakDetectorContext
        extends PolicyContext
{
}
