package io.memgov.plugin.totalreservation;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.LowMemoryKillerFactory;

import java.util.List;

/**
 * Offers the query killer {@code total-reservation}, Trino's {@code TOTAL_RESERVATION} policy: when the cluster is
 * out of memory, kill the running query that holds the most memory across the whole cluster.
 *
 * <pre>{@code
 * query.low-memory-killer.policy=total-reservation
 * }</pre>
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}; the engine finds it with
 * {@link java.util.ServiceLoader}. Stateless and cheap to construct.
 *
 * @since 0.1
 */
public final class TotalReservationPlugin
        implements MemoryPlugin
{
    /** Required by {@link java.util.ServiceLoader}; does nothing. */
    public TotalReservationPlugin() {}

    /** The single query killer {@code total-reservation}. */
    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(new TotalReservationLowMemoryKillerFactory());
    }
}
