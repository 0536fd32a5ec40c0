package io.memgov.spi.spill;

import java.util.Map;

/**
 * Creates a spill strategy, selected by {@code memory.spill-strategy.policy}.
 *
 * @since 0.1
 */
public interface SpillStrategyFactory
{
    /** Stable kebab-case name used in configuration, e.g. {@code threshold}. */
    String name();

    /**
     * Called once per node at engine start-up, with the thread context class loader set to the plugin's.
     *
     * @param config the keys under {@code memory.spill-strategy.<name>.}, prefix stripped; never null
     * @throws IllegalArgumentException for a bad or unknown config key, naming the key, the value and what is accepted
     */
    SpillStrategy create(Map<String, String> config, SpillStrategyContext context);
}
