package io.memgov.plugin.totalreservation;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import io.memgov.testing.LowMemoryKillerContract;
import io.memgov.testing.MemoryPluginContract;
import org.junit.jupiter.api.Nested;


/** The {@code total-reservation} query killer, as the plugin offers it, against the killer contract, and the plugin against the plugin contract. */
final class TotalReservationContractTest
{
    private static LowMemoryKillerFactory factory()
    {
        return new TotalReservationPlugin().lowMemoryKillerFactories().get(0);
    }

    @Nested
    final class Killer
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return factory().create(PolicyConfig.empty(), KillerFixtures.context());
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new TotalReservationPlugin();
        }
    }
}
