package io.memgov.spi.tracker;

import io.memgov.spi.policy.NodePolicyContext;

/**
 * What the engine offers a tracker policy: its node (heap and pool size, for automatic limits), a clock, a
 * scheduler, metrics and a way to fail queries (for overcommit killers).
 *
 * @since 1.0
 */
public interface MemoryTrackerContext
        extends NodePolicyContext
{
}
