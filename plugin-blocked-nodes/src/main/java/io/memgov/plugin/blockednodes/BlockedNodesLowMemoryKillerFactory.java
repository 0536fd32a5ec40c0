package io.memgov.plugin.blockednodes;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;

import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * Creates one of this plugin's killers. None of them takes configuration: any key is rejected.
 */
final class BlockedNodesLowMemoryKillerFactory
        implements LowMemoryKillerFactory
{
    private final String name;
    private final KillerScope scope;
    private final Supplier<LowMemoryKiller> killer;

    BlockedNodesLowMemoryKillerFactory(String name, KillerScope scope, Supplier<LowMemoryKiller> killer)
    {
        this.name = requireNonNull(name, "name is null");
        this.scope = requireNonNull(scope, "scope is null");
        this.killer = requireNonNull(killer, "killer is null");
    }

    @Override
    public String name()
    {
        return name;
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
        return killer.get();
    }

    @Override
    public String toString()
    {
        return name + " (" + scope + ")";
    }
}
