package io.memgov.plugin.totalreservation;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

final class TotalReservationPluginTest
{
    @Test
    void isFoundByServiceLoaderAndOffersTheTotalReservationQueryKiller()
    {
        // the engine only sees what META-INF/services declares: a missing or misspelled entry would hide the plugin
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(TotalReservationPlugin.class::isInstance)
                .toList();

        assertThat(plugins).hasSize(1);
        MemoryPlugin plugin = plugins.get(0);
        assertThat(plugin.lowMemoryKillerFactories())
                .extracting(LowMemoryKillerFactory::name, LowMemoryKillerFactory::scope)
                .containsExactly(tuple("total-reservation", KillerScope.QUERY));
        assertThat(plugin.memoryPoolFactories()).isEmpty();
        assertThat(plugin.memoryLeakDetectorFactories()).isEmpty();
    }
}
