package io.memgov.engine;

import io.memgov.spi.query.NodeId;

/**
 * A node's revoking scheduler as a host sees it: it asks the node's revocable operators to give memory back when the
 * pool fills ({@code memory-revoking-threshold}, {@code memory-revoking-target}), on pool events and every second.
 * Thread-safe.
 */
public interface MemoryRevoker
{
    NodeId nodeId();

    /** True when the pool holds revocable memory and free memory is at or below {@code max * (1 - threshold)}. */
    boolean isRevokingNeeded();

    /** Runs one check now, on this thread (hosts that drive revoking themselves, and tests). */
    void checkNow();

    /** Checks run so far, by any trigger. */
    long checks();

    /** Revoke requests made so far. */
    long revokesRequested();
}
