package io.memgov.plugin.blockednodes;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKillerFactory;

import java.util.List;

/**
 * Offers the killers that look only at <em>blocked</em> nodes (nodes whose non-revocable reservations reach the
 * general pool's maximum), as Trino's defaults do:
 * <ul>
 *   <li>query killer {@code total-reservation-on-blocked-nodes} (the engine's default query killer): kills the query
 *       holding the most memory on blocked nodes, sparing TASK-retry queries;</li>
 *   <li>task killer {@code total-reservation-on-blocked-nodes} (the engine's default task killer): kills, on each
 *       blocked node, the largest task of a TASK-retry query;</li>
 *   <li>task killer {@code least-waste}: kills, on each blocked node, the TASK-retry task that frees the most memory
 *       per second of work lost.</li>
 * </ul>
 *
 * <pre>{@code
 * task.low-memory-killer.policy=least-waste
 * query.low-memory-killer.policy=total-reservation-on-blocked-nodes
 * }</pre>
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}; the engine finds it with
 * {@link java.util.ServiceLoader}. Stateless and cheap to construct.
 *
 * @since 0.1
 */
public final class BlockedNodesPlugin
        implements MemoryPlugin
{
    static final String TOTAL_RESERVATION_ON_BLOCKED_NODES = "total-reservation-on-blocked-nodes";
    static final String LEAST_WASTE = "least-waste";

    /** Required by {@link java.util.ServiceLoader}; does nothing. */
    public BlockedNodesPlugin() {}

    /**
     * The query killer {@code total-reservation-on-blocked-nodes}, then the task killers
     * {@code total-reservation-on-blocked-nodes} and {@code least-waste}.
     */
    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(
                new BlockedNodesLowMemoryKillerFactory(TOTAL_RESERVATION_ON_BLOCKED_NODES, KillerScope.QUERY, TotalReservationOnBlockedNodesQueryLowMemoryKiller::new),
                new BlockedNodesLowMemoryKillerFactory(TOTAL_RESERVATION_ON_BLOCKED_NODES, KillerScope.TASK, TotalReservationOnBlockedNodesTaskLowMemoryKiller::new),
                new BlockedNodesLowMemoryKillerFactory(LEAST_WASTE, KillerScope.TASK, LeastWasteTaskLowMemoryKiller::new));
    }
}
