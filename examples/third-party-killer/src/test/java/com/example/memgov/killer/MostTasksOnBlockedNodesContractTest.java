package com.example.memgov.killer;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import io.memgov.testing.LowMemoryKillerContract;
import io.memgov.testing.MemoryPluginContract;
import org.junit.jupiter.api.Nested;

import java.util.Map;

/**
 * What a third party writes to get memgov's contract suites: one small subclass per suite. The killer runs the whole
 * killer contract with its default and with a larger {@code min-task-bytes}; its plugin runs the plugin contract.
 */
final class MostTasksOnBlockedNodesContractTest
{
    private static final String PREFIX = PolicyFamily.QUERY_KILLER.configPrefix(MostTasksOnBlockedNodesLowMemoryKillerFactory.NAME);

    @Nested
    final class Killer
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(PolicyConfig.of(PREFIX, Map.of()), KillerFixtures.context());
        }
    }

    @Nested
    final class KillerIgnoringSmallTasks
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(PolicyConfig.of(PREFIX, Map.of("min-task-bytes", "4")), KillerFixtures.context());
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new MostTasksOnBlockedNodesPlugin();
        }
    }
}
