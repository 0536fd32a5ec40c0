package io.memgov.spi.killer;

import io.memgov.spi.policy.PolicyContext;

/**
 * What the engine offers a low-memory killer: a clock, a scheduler and metrics.
 *
 * @since 1.0
 */
public interface LowMemoryKillerContext
        extends PolicyContext
{
}
