package io.memgov.spi.assignment;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.policy.PolicyContext;

/**
 * What the engine offers a {@link MemoryPoolAssigner}: a clock, a scheduler and metrics. New services are added as
 * default methods.
 *
 * @since 1.0
 */
@Experimental
public interface MemoryPoolAssignerContext
        extends PolicyContext
{
}
