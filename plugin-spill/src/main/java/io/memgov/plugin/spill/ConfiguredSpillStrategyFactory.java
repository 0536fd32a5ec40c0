package io.memgov.plugin.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;

import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * A factory that checks its config keys against the ones its strategy accepts before creating it, so that a typo
 * fails start-up instead of being ignored.
 */
final class ConfiguredSpillStrategyFactory
        implements SpillStrategyFactory
{
    private final String name;
    private final List<PolicyConfigKey> acceptedKeys;
    private final Function<PolicyConfig, SpillStrategy> creator;

    ConfiguredSpillStrategyFactory(String name, List<PolicyConfigKey> acceptedKeys, Function<PolicyConfig, SpillStrategy> creator)
    {
        this.name = requireNonNull(name, "name is null");
        this.acceptedKeys = List.copyOf(requireNonNull(acceptedKeys, "acceptedKeys is null"));
        this.creator = requireNonNull(creator, "creator is null");
    }

    static ConfiguredSpillStrategyFactory withoutConfig(String name, Supplier<SpillStrategy> creator)
    {
        requireNonNull(creator, "creator is null");
        return new ConfiguredSpillStrategyFactory(name, List.of(), config -> creator.get());
    }

    @Override
    public String name()
    {
        return name;
    }

    @Override
    public List<PolicyConfigKey> configKeys()
    {
        return acceptedKeys;
    }

    @Override
    public SpillStrategy create(PolicyConfig config, SpillStrategyContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        config.requireOnly(acceptedKeys.stream().map(PolicyConfigKey::name).toList());
        return creator.apply(config);
    }

    @Override
    public String toString()
    {
        return "spill strategy '" + name + "'";
    }
}
