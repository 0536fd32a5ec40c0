package io.memgov.plugin.none;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import io.memgov.testing.LowMemoryKillerContract;
import io.memgov.testing.MemoryPluginContract;
import org.junit.jupiter.api.Nested;


/** The {@code none} killers, as the plugin offers them, against the killer contract in both scopes, and the plugin against the plugin contract. */
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
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new NonePlugin();
        }
    }
}
