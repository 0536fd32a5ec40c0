package io.memgov.spi.leak;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates a leak detector, selected by {@code memory.leak-detector.policy}.
 *
 * @since 1.0
 */
public interface MemoryLeakDetectorFactory
        extends PolicyFactory<MemoryLeakDetectorContext, MemoryLeakDetector>
{
    /**
     * Creates the detector, once per engine at start-up.
     *
     * @param config the keys under {@code memory.leak-detector.<name>.}, prefix stripped; never null
     */
    @Override
    MemoryLeakDetector create(PolicyConfig config, MemoryLeakDetectorContext context);
}
