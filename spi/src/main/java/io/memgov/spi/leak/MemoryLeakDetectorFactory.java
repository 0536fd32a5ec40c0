package io.memgov.spi.leak;

import java.util.Map;

/**
 * Creates a leak detector, selected by {@code memory.leak-detector.policy}.
 *
 * @since 0.1
 */
public interface MemoryLeakDetectorFactory
{
    /** Stable kebab-case name used in configuration, e.g. {@code leak-detector}. */
    String name();

    /**
     * Called once at engine start-up, on the start-up thread, with the thread context class loader set to the
     * plugin's.
     *
     * @param config the keys under {@code memory.leak-detector.<name>.}, prefix stripped; never null
     * @throws IllegalArgumentException for a bad or unknown config key, naming the key, the value and what is accepted
     */
    MemoryLeakDetector create(Map<String, String> config, MemoryLeakDetectorContext context);
}
