package io.memgov.plugin.leakdetector;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;

import java.util.List;

/**
 * Offers the leak detector {@code leak-detector} (the engine's default), Trino's {@code ClusterMemoryLeakDetector}
 * with a configurable grace period: it flags reservations still held by queries the host no longer runs, so that a
 * leaked kill target stops blocking the low-memory killer (presto#11113).
 *
 * <pre>{@code
 * memory.leak-detector.policy=leak-detector
 * memory.leak-detector.leak-detector.grace=60s
 * }</pre>
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}; the engine finds it with
 * {@link java.util.ServiceLoader}. Cheap to construct. Bundles Caffeine, which stays inside this plugin's class
 * loader.
 *
 * @since 0.1
 */
public final class LeakDetectorPlugin
        implements MemoryPlugin
{
    /** Required by {@link java.util.ServiceLoader}; does nothing. */
    public LeakDetectorPlugin() {}

    /** The single leak detector {@code leak-detector}. */
    @Override
    public List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
    {
        return List.of(new ClusterMemoryLeakDetectorFactory());
    }
}
