package ${package};

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
 * memgov's contract suites, one small subclass each: the killer runs the whole killer contract (with its default and
 * with a larger minimum), the plugin the plugin contract (ServiceLoader file, names, unknown keys).
 */
final class ${classPrefix}ContractTest
{
    private static final String PREFIX = PolicyFamily.QUERY_KILLER.configPrefix(${classPrefix}LowMemoryKillerFactory.NAME);

    @Nested
    final class Killer
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return new ${classPrefix}LowMemoryKillerFactory().create(PolicyConfig.of(PREFIX, Map.of()), KillerFixtures.context());
        }
    }

    @Nested
    final class KillerWithALargerMinimum
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return new ${classPrefix}LowMemoryKillerFactory().create(PolicyConfig.of(PREFIX, Map.of("min-bytes-on-blocked-nodes", "4")), KillerFixtures.context());
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new ${classPrefix}Plugin();
        }
    }
}
