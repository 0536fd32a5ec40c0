package io.memgov.plugin.totalreservation;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;

import static java.util.Objects.requireNonNull;

/**
 * Creates the query killer {@code total-reservation}. It takes no configuration: any key is rejected.
 */
final class TotalReservationLowMemoryKillerFactory
        implements LowMemoryKillerFactory
{
    static final String NAME = "total-reservation";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public KillerScope scope()
    {
        return KillerScope.QUERY;
    }

    @Override
    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        config.requireOnly();
        return new TotalReservationLowMemoryKiller();
    }
}
