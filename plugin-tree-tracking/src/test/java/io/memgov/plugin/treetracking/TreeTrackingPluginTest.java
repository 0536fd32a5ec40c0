package io.memgov.plugin.treetracking;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import io.memgov.spi.tracker.TrackerLevel;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import static io.memgov.plugin.treetracking.TrackerFixture.GIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static org.assertj.core.api.Assertions.assertThat;

final class TreeTrackingPluginTest
{
    @Test
    void isFoundByServiceLoaderAndOffersThreadBatched()
    {
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class, getClass().getClassLoader()).stream()
                .map(ServiceLoader.Provider::get)
                .toList();
        assertThat(plugins).hasAtLeastOneElementOfType(TreeTrackingPlugin.class);
        MemoryPlugin plugin = plugins.stream().filter(TreeTrackingPlugin.class::isInstance).findFirst().orElseThrow();
        assertThat(plugin.memoryTrackerFactories()).extracting(MemoryTrackerFactory::name).containsExactly("thread-batched");
        assertThat(plugin.memoryPoolFactories()).isEmpty();
        assertThat(plugin.lowMemoryKillerFactories()).isEmpty();
    }

    @Test
    void createsTheTreeTheEngineUses()
    {
        MemoryTrackerFactory factory = new TreeTrackingPlugin().memoryTrackerFactories().get(0);
        try (TestingNodeContext context = TrackerFixture.context(GIB)) {
            MemoryTracker root = factory.create(PolicyConfig.of(ThreadBatchedConfig.PREFIX, Map.of("max-untracked-memory", "1MB", "correction-interval", "0")), context);
            MemoryTracker user = root.newChild(TrackerLevel.USER, "alice", 0);
            MemoryTracker query = user.newChild(TrackerLevel.QUERY, "q1", 100 * MIB);
            query.allocate(3 * MIB);
            query.free(MIB);
            query.close();
            assertThat(root.level()).isEqualTo(TrackerLevel.NODE);
            assertThat(query.usedBytes()).isEqualTo(2 * MIB);
            assertThat(user.usedBytes()).isEqualTo(2 * MIB);
            assertThat(root.usedBytes()).isEqualTo(2 * MIB);
            assertThat(root.peakBytes()).isEqualTo(3 * MIB);
            root.close();
        }
    }
}
