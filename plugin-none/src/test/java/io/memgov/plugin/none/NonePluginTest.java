package io.memgov.plugin.none;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

final class NonePluginTest
{
    @Test
    void isFoundByServiceLoaderAndOffersNoneInBothScopes()
    {
        // the engine only sees what META-INF/services declares: a missing or misspelled entry would hide the plugin
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(NonePlugin.class::isInstance)
                .toList();

        assertThat(plugins).hasSize(1);
        MemoryPlugin plugin = plugins.get(0);
        assertThat(plugin.lowMemoryKillerFactories())
                .extracting(LowMemoryKillerFactory::name, LowMemoryKillerFactory::scope)
                .containsExactly(tuple("none", KillerScope.QUERY), tuple("none", KillerScope.TASK));
        assertThat(plugin.memoryPoolFactories()).isEmpty();
        assertThat(plugin.memoryTrackerFactories()).isEmpty();
        assertThat(plugin.spillStrategyFactories()).isEmpty();
        assertThat(plugin.memoryLeakDetectorFactories()).isEmpty();
    }
}
