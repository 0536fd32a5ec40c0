package io.memgov.plugin.arbitration;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.arbitration.MemoryArbitratorContext;
import io.memgov.spi.arbitration.MemoryArbitratorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.util.List;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * Offers the bundled node arbitrators, selected with {@code memory.arbitrator.policy}:
 * <ul>
 *     <li>{@code spill-first}: Velox's order: reclaim unused reservations, spill the largest consumers, then kill the
 *     lowest-priority, largest query on the node;</li>
 *     <li>{@code pause}: Doris's: reclaim, spill the others' consumers, pause the requester, fail it after a
 *     timeout.</li>
 * </ul>
 * Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}.
 *
 * @since 1.0
 */
public final class ArbitrationPlugin
        implements MemoryPlugin
{
    @Override
    public List<MemoryArbitratorFactory> memoryArbitratorFactories()
    {
        return List.of(
                factory(SpillFirstArbitrator.NAME, SpillFirstArbitrator.KEYS, SpillFirstArbitrator::create),
                factory(PauseArbitrator.NAME, PauseArbitrator.KEYS, PauseArbitrator::create));
    }

    private static MemoryArbitratorFactory factory(String name, List<PolicyConfigKey> keys, Function<PolicyConfig, MemoryArbitrator> creator)
    {
        return new MemoryArbitratorFactory()
        {
            @Override
            public String name()
            {
                return name;
            }

            @Override
            public MemoryArbitrator create(PolicyConfig config, MemoryArbitratorContext context)
            {
                requireNonNull(config, "config is null");
                requireNonNull(context, "context is null");
                // a typo fails start-up instead of being ignored
                config.requireOnly(keys.stream().map(PolicyConfigKey::name).toList());
                return creator.apply(config);
            }

            @Override
            public List<PolicyConfigKey> configKeys()
            {
                return keys;
            }

            @Override
            public String toString()
            {
                return "memory arbitrator '" + name + "'";
            }
        };
    }
}
