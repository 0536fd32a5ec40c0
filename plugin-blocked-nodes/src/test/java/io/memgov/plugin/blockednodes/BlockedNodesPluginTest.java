package io.memgov.plugin.blockednodes;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import static io.memgov.testing.KillerFixtures.context;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

final class BlockedNodesPluginTest
{
    @Test
    void isFoundByServiceLoaderAndOffersOneQueryKillerAndTwoTaskKillers()
    {
        // the engine only sees what META-INF/services declares, and picks factories by name within a scope
        MemoryPlugin plugin = loadPlugin();

        assertThat(plugin.lowMemoryKillerFactories())
                .extracting(LowMemoryKillerFactory::name, LowMemoryKillerFactory::scope)
                .containsExactly(
                        tuple("total-reservation-on-blocked-nodes", KillerScope.QUERY),
                        tuple("total-reservation-on-blocked-nodes", KillerScope.TASK),
                        tuple("least-waste", KillerScope.TASK));
        assertThat(plugin.memoryLeakDetectorFactories()).isEmpty();
    }

    @Test
    void createsTheKillerEachFactoryNames()
    {
        // the two factories sharing a name must not be wired to the same killer
        List<LowMemoryKillerFactory> factories = loadPlugin().lowMemoryKillerFactories();

        assertThat(factories)
                .<Class<?>>extracting(factory -> factory.create(PolicyConfig.empty(), context()).getClass())
                .containsExactly(
                        TotalReservationOnBlockedNodesQueryLowMemoryKiller.class,
                        TotalReservationOnBlockedNodesTaskLowMemoryKiller.class,
                        LeastWasteTaskLowMemoryKiller.class);
    }

    @Test
    void everyFactoryRejectsUnknownConfigurationKeys()
    {
        // none of these killers has settings, so any key under their prefix is a typo that must fail start-up
        for (LowMemoryKillerFactory factory : loadPlugin().lowMemoryKillerFactories()) {
            assertThatThrownBy(() -> factory.create(PolicyConfig.of("query.low-memory-killer." + factory.name() + ".", Map.of("min-free-ratio", "0.1")), context()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Unknown configuration key 'query.low-memory-killer." + factory.name() + ".min-free-ratio' (value '0.1'). No keys are accepted under 'query.low-memory-killer." + factory.name() + ".'");
        }
    }

    private static MemoryPlugin loadPlugin()
    {
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(BlockedNodesPlugin.class::isInstance)
                .toList();
        assertThat(plugins).hasSize(1);
        return plugins.get(0);
    }
}
