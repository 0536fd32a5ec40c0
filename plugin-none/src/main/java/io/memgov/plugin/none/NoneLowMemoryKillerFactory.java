package io.memgov.plugin.none;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfigKeys;

import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Creates the {@code none} killer for one scope. The killer takes no configuration: any key is rejected.
 */
final class NoneLowMemoryKillerFactory
        implements LowMemoryKillerFactory
{
    static final String NAME = "none";

    private final KillerScope scope;

    NoneLowMemoryKillerFactory(KillerScope scope)
    {
        this.scope = requireNonNull(scope, "scope is null");
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public KillerScope scope()
    {
        return scope;
    }

    @Override
    public LowMemoryKiller create(Map<String, String> config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        PolicyConfigKeys.checkKnown(config, "low memory killer '" + NAME + "'", Set.of());
        return NoneLowMemoryKiller.INSTANCE;
    }

    @Override
    public String toString()
    {
        return NAME + " (" + scope + ")";
    }
}
