package io.memgov.plugin.none;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;

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
    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        config.requireOnly();
        return NoneLowMemoryKiller.INSTANCE;
    }

    @Override
    public String toString()
    {
        return NAME + " (" + scope + ")";
    }
}
