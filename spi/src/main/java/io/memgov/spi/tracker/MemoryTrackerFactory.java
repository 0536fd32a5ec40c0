package io.memgov.spi.tracker;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates a tracker policy, selected by {@code memory.tracker.policy}.
 *
 * @since 1.0
 */
public interface MemoryTrackerFactory
        extends PolicyFactory<MemoryTrackerContext, MemoryTracker>
{
    /**
     * Creates the node-level root of one node's tree, once per node at start-up.
     *
     * @param config the keys under {@code memory.tracker.<name>.}, prefix stripped; never null
     * @return a tracker of level {@link TrackerLevel#NODE}; never null
     */
    @Override
    MemoryTracker create(PolicyConfig config, MemoryTrackerContext context);
}
