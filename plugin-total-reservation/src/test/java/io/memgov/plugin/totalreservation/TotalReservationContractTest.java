package io.memgov.plugin.totalreservation;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import io.memgov.testing.LowMemoryKillerContract;
import io.memgov.testing.PolicyFactoryContract;
import org.junit.jupiter.api.Nested;

import java.util.Optional;

/** The {@code total-reservation} query killer, as the plugin offers it, against the killer and factory contracts. */
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
    final class Factory
            extends PolicyFactoryContract<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller>
    {
        @Override
        protected PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> family()
        {
            return PolicyFamily.QUERY_KILLER;
        }

        @Override
        protected LowMemoryKillerFactory factory()
        {
            return TotalReservationContractTest.factory();
        }

        @Override
        protected LowMemoryKillerContext context()
        {
            return KillerFixtures.context();
        }

        @Override
        protected Optional<MemoryPlugin> plugin()
        {
            return Optional.of(new TotalReservationPlugin());
        }
    }
}
