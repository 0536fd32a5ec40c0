package io.memgov.plugin.leakdetector;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.TestingClusterContext;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;

final class LeakDetectorPluginTest
{
    @Test
    void isFoundByServiceLoaderAndOffersTheLeakDetector()
    {
        // the engine only sees what META-INF/services declares: a missing or misspelled entry would hide the plugin
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(LeakDetectorPlugin.class::isInstance)
                .toList();

        assertThat(plugins).hasSize(1);
        MemoryPlugin plugin = plugins.get(0);
        assertThat(plugin.memoryLeakDetectorFactories()).extracting(MemoryLeakDetectorFactory::name).containsExactly("leak-detector");
        assertThat(plugin.lowMemoryKillerFactories()).isEmpty();
        assertThat(plugin.memoryLeakDetectorFactories().get(0).create(PolicyConfig.empty(), new TestingClusterContext()))
                .isInstanceOf(ClusterMemoryLeakDetector.class);
    }
}
