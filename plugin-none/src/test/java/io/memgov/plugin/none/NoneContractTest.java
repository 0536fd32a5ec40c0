package io.memgov.plugin.none;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import io.memgov.testing.LowMemoryKillerContract;
import io.memgov.testing.PolicyFactoryContract;
import org.junit.jupiter.api.Nested;

import java.util.Optional;

/** The {@code none} killers, as the plugin offers them, against the killer and factory contracts, in both scopes. */
final class NoneContractTest
{
    private static LowMemoryKillerFactory factory(KillerScope scope)
    {
        return new NonePlugin().lowMemoryKillerFactories().stream().filter(factory -> factory.scope() == scope).findFirst().orElseThrow();
    }

    @Nested
    final class QueryKiller
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return factory(KillerScope.QUERY).create(PolicyConfig.empty(), KillerFixtures.context());
        }
    }

    @Nested
    final class TaskKiller
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return factory(KillerScope.TASK).create(PolicyConfig.empty(), KillerFixtures.context());
        }

        @Override
        protected KillerScope scope()
        {
            return KillerScope.TASK;
        }
    }

    @Nested
    final class QueryKillerFactory
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
            return NoneContractTest.factory(KillerScope.QUERY);
        }

        @Override
        protected LowMemoryKillerContext context()
        {
            return KillerFixtures.context();
        }

        @Override
        protected Optional<MemoryPlugin> plugin()
        {
            return Optional.of(new NonePlugin());
        }
    }

    @Nested
    final class TaskKillerFactory
            extends PolicyFactoryContract<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller>
    {
        @Override
        protected PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> family()
        {
            return PolicyFamily.TASK_KILLER;
        }

        @Override
        protected LowMemoryKillerFactory factory()
        {
            return NoneContractTest.factory(KillerScope.TASK);
        }

        @Override
        protected LowMemoryKillerContext context()
        {
            return KillerFixtures.context();
        }

        @Override
        protected Optional<MemoryPlugin> plugin()
        {
            return Optional.of(new NonePlugin());
        }
    }
}
