package io.memgov.plugin.leakdetector;

import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Creates the leak detector {@code leak-detector}. Accepts the keys of {@link LeakDetectorConfig}.
 */
final class ClusterMemoryLeakDetectorFactory
        implements MemoryLeakDetectorFactory
{
    static final String NAME = "leak-detector";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public List<PolicyConfigKey> configKeys()
    {
        return LeakDetectorConfig.CONFIG_KEYS;
    }

    @Override
    public MemoryLeakDetector create(PolicyConfig config, MemoryLeakDetectorContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        return new ClusterMemoryLeakDetector(LeakDetectorConfig.from(config), context.clock(), context.metrics());
    }
}
