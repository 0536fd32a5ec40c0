package io.memgov.plugin.blockednodes;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import io.memgov.testing.LowMemoryKillerContract;
import io.memgov.testing.MemoryPluginContract;
import org.junit.jupiter.api.Nested;


import static io.memgov.plugin.blockednodes.BlockedNodesPlugin.LEAST_WASTE;
import static io.memgov.plugin.blockednodes.BlockedNodesPlugin.TOTAL_RESERVATION_ON_BLOCKED_NODES;

/** The plugin's three killers, as it offers them, against the killer contract, and the plugin against the plugin contract. */
final class BlockedNodesContractTest
{
    private static LowMemoryKillerFactory factory(String name, KillerScope scope)
    {
        return new BlockedNodesPlugin().lowMemoryKillerFactories().stream()
                .filter(factory -> factory.name().equals(name) && factory.scope() == scope)
                .findFirst()
                .orElseThrow();
    }

    private static LowMemoryKiller killer(String name, KillerScope scope)
    {
        return factory(name, scope).create(PolicyConfig.empty(), KillerFixtures.context());
    }

    @Nested
    final class TotalReservationOnBlockedNodesQueryKiller
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return killer(TOTAL_RESERVATION_ON_BLOCKED_NODES, KillerScope.QUERY);
        }
    }

    @Nested
    final class TotalReservationOnBlockedNodesTaskKiller
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return killer(TOTAL_RESERVATION_ON_BLOCKED_NODES, KillerScope.TASK);
        }

        @Override
        protected KillerScope scope()
        {
            return KillerScope.TASK;
        }
    }

    @Nested
    final class LeastWasteTaskKiller
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return killer(LEAST_WASTE, KillerScope.TASK);
        }

        @Override
        protected KillerScope scope()
        {
            return KillerScope.TASK;
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new BlockedNodesPlugin();
        }
    }
}
