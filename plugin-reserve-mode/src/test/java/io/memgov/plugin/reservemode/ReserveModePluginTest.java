package io.memgov.plugin.reservemode;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.pool.MemoryPoolFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;

final class ReserveModePluginTest
{
    @Test
    void isFoundByServiceLoaderAndOffersTheReserveModePool()
    {
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class, ReserveModePluginTest.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get)
                .toList();

        assertThat(plugins).singleElement().isInstanceOf(ReserveModePlugin.class);
        assertThat(plugins.get(0).memoryPoolFactories()).extracting(MemoryPoolFactory::name).containsExactly("reserve-mode");
        assertThat(plugins.get(0).lowMemoryKillerFactories()).isEmpty();
    }
}
