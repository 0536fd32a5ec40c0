package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.QueryId;

/**
 * Told when a reservation on a node could not be granted at once: its pool had no free bytes left after it. The node's
 * arbitration listens here; without one, the requester waits for memory to be freed or for the cluster loop.
 */
@FunctionalInterface
public interface BlockedReservationListener
{
    BlockedReservationListener NONE = (queryId, bytes, future) -> {};

    /**
     * Called on the reserving thread, right after the reservation was made: it must not block.
     *
     * @param bytes the bytes the reservation added
     * @param future completes when the pool has room again
     */
    void reservationBlocked(QueryId queryId, long bytes, MemoryFuture future);

    /**
     * Whether a blocked reservation is being resolved here (memory reclaimed, revoked or a query killed), or waits to
     * be: the node's snapshot says so, and the cluster loop leaves the node to it. Read by the snapshot's thread; must
     * not block.
     */
    default boolean arbitrating()
    {
        return false;
    }
}
