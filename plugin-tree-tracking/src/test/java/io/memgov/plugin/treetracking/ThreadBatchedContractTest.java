package io.memgov.plugin.treetracking;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.MemoryTrackerContract;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Nested;

import java.util.HashMap;
import java.util.Map;

/** The {@code thread-batched} tracker, as the plugin offers it, against the tracker contract, and the plugin against the plugin contract. */
final class ThreadBatchedContractTest
{
    private static final String PREFIX = PolicyFamily.TRACKER.configPrefix(ThreadBatchedMemoryTrackerFactory.NAME);

    private static MemoryTrackerFactory factory()
    {
        return new TreeTrackingPlugin().memoryTrackerFactories().get(0);
    }

    /**
     * A root with exactly the given limit (no automatic share of the pool), no overcommit killer (the suite's limits
     * must refuse at once, not wait for a victim), no correction worker, and the given batch size.
     */
    private static MemoryTracker root(long hardLimitBytes, String maxUntrackedMemory)
    {
        Map<String, String> config = new HashMap<>();
        config.put(ThreadBatchedConfig.MAX_SERVER_MEMORY_USAGE, hardLimitBytes + "B");
        config.put(ThreadBatchedConfig.MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO, "0");
        config.put(ThreadBatchedConfig.OVERCOMMIT_KILLER, ThreadBatchedConfig.OVERCOMMIT_NONE);
        config.put(ThreadBatchedConfig.CORRECTION_INTERVAL, "0");
        config.put(ThreadBatchedConfig.MAX_UNTRACKED_MEMORY, maxUntrackedMemory);
        return factory().create(PolicyConfig.of(PREFIX, config), TestingNodeContext.create());
    }

    @Nested
    final class Batching
            extends MemoryTrackerContract
    {
        @Override
        protected MemoryTracker newRoot(long hardLimitBytes)
        {
            return root(hardLimitBytes, "1kB");
        }

        @Override
        protected long maxHeldBackBytes()
        {
            return 1024;
        }
    }

    @Nested
    final class Unbatched
            extends MemoryTrackerContract
    {
        // max-untracked-memory=0 carries every call at once: the tracker behaves as an exact one
        @Override
        protected MemoryTracker newRoot(long hardLimitBytes)
        {
            return root(hardLimitBytes, "0");
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new TreeTrackingPlugin();
        }
    }
}
