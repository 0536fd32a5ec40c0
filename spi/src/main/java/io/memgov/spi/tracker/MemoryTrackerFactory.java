package io.memgov.spi.tracker;

import java.util.Map;

/**
 * Creates a tracker policy, selected by {@code memory.tracker.policy}.
 *
 * @since 0.1
 */
public interface MemoryTrackerFactory
{
    /** Stable kebab-case name used in configuration, e.g. {@code exact} or {@code thread-batched}. */
    String name();

    /**
     * Creates the node-level root of one node's tree. Called once per node at start-up, with the thread context
     * class loader set to the plugin's.
     *
     * @param config the keys under {@code memory.tracker.<name>.}, prefix stripped; never null
     * @return a tracker of level {@link TrackerLevel#NODE}; never null
     * @throws IllegalArgumentException for a bad or unknown config key, naming the key, the value and what is accepted
     */
    MemoryTracker create(Map<String, String> config, MemoryTrackerContext context);
}
