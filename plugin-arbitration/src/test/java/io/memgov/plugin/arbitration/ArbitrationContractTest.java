package io.memgov.plugin.arbitration;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.MemoryArbitratorContract;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Nested;

import java.util.Map;

/** The bundled arbitrators, as the plugin offers them, against the arbitrator and plugin contracts. */
final class ArbitrationContractTest
{
    private static MemoryArbitrator arbitrator(String name, Map<String, String> keys)
    {
        return new ArbitrationPlugin().memoryArbitratorFactories().stream()
                .filter(factory -> factory.name().equals(name))
                .findFirst()
                .orElseThrow()
                .create(PolicyConfig.of(PolicyFamily.ARBITRATOR.configPrefix(name), keys), TestingNodeContext.create());
    }

    @Nested
    final class SpillFirst
            extends MemoryArbitratorContract
    {
        @Override
        protected MemoryArbitrator newArbitrator()
        {
            return arbitrator("spill-first", Map.of());
        }
    }

    @Nested
    final class SpillFirstWithoutKilling
            extends MemoryArbitratorContract
    {
        @Override
        protected MemoryArbitrator newArbitrator()
        {
            return arbitrator("spill-first", Map.of("kill", "false"));
        }
    }

    @Nested
    final class Pause
            extends MemoryArbitratorContract
    {
        @Override
        protected MemoryArbitrator newArbitrator()
        {
            return arbitrator("pause", Map.of("pause-timeout", "2s"));
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new ArbitrationPlugin();
        }
    }
}
