package io.memgov.plugin.totalreservation;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfigKeys;

import java.util.Map;
import java.util.Set;

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
    public LowMemoryKiller create(Map<String, String> config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        PolicyConfigKeys.checkKnown(config, "low memory killer '" + NAME + "'", Set.of());
        return new TotalReservationLowMemoryKiller();
    }
}
