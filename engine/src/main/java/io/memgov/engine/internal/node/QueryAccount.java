package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;

import static java.util.Objects.requireNonNull;

/**
 * Where a query's memory on one node is charged: each change is checked against the query's
 * {@linkplain QueryLimits per-node limits}, then carried through its tracker, then into its
 * {@linkplain QueryPoolRouting pool}; a refusal at any step undoes the steps before it, so a change either fully
 * applies or changes nothing. Called by the query's local memories, directly or through their task, after they
 * checked that the query and task were not killed. Lock-free.
 */
final class QueryAccount
{
    private final QueryId queryId;
    private final NodeState node;
    private final QueryLimits limits;
    private final MemoryTracker tracker;
    private final QueryPoolRouting routing;
    // null when the node has no direct pool: direct memory then arrives here as user memory
    private final QueryDirectLimit directLimit;
    private final MemoryPool directPool;

    QueryAccount(QueryId queryId, NodeState node, QueryLimits limits, MemoryTracker tracker, QueryPoolRouting routing, QueryDirectLimit directLimit)
    {
        NodeState.DirectPool direct = node.directPool();
        this.directPool = direct == null ? null : direct.pool();
        this.directLimit = directLimit;
        this.queryId = requireNonNull(queryId, "queryId is null");
        this.node = requireNonNull(node, "node is null");
        this.limits = requireNonNull(limits, "limits is null");
        this.tracker = requireNonNull(tracker, "tracker is null");
        this.routing = requireNonNull(routing, "routing is null");
    }

    MemoryTracker tracker()
    {
        return tracker;
    }

    QueryPoolRouting routing()
    {
        return routing;
    }

    /** The query's direct limit and bytes on this node; null when the node has no direct pool. */
    QueryDirectLimit directLimit()
    {
        return directLimit;
    }

    MemoryFuture reserve(PoolSlot slot, MemoryKind kind, long delta)
    {
        if (kind == MemoryKind.DIRECT) {
            return reserveDirect(slot, delta);
        }
        if (kind == MemoryKind.DIRECT_REVOCABLE) {
            directLimit.addRevocable(delta);
            try {
                return slot.in(directPool).reserveRevocable(delta);
            }
            catch (RuntimeException e) {
                directLimit.addRevocable(-delta);
                throw e;
            }
        }
        if (kind == MemoryKind.REVOCABLE) {
            limits.claimRevocable(delta, true);
            MemoryFuture future;
            try {
                future = routing.reserve(slot, true, delta);
            }
            catch (RuntimeException e) {
                limits.unclaimRevocable(delta);
                throw e;
            }
            limits.updatePeak();
            return blockedIfPending(future, delta);
        }
        // Presto checks the broadcast limit before the user limit, so a growth past both fails with the broadcast error
        boolean broadcast = isBroadcast(slot, kind);
        if (broadcast) {
            limits.claimBroadcast(delta, true);
        }
        try {
            limits.claim(kind, delta, true);
        }
        catch (RuntimeException e) {
            unclaimBroadcast(broadcast, delta);
            throw e;
        }
        try {
            tracker.allocate(delta);
        }
        catch (RuntimeException e) {
            unclaim(kind, broadcast, delta);
            throw e;
        }
        try {
            MemoryFuture future = routing.reserve(slot, false, delta);
            limits.updatePeak();
            return blockedIfPending(future, delta);
        }
        catch (RuntimeException e) {
            tracker.free(delta);
            unclaim(kind, broadcast, delta);
            throw e;
        }
    }

    // a broadcast operator's user memory (Presto's enforceBroadcastMemoryLimit, which its hash builder sets on its user
    // memory only): its system and revocable memory are not broadcast
    private static boolean isBroadcast(PoolSlot slot, MemoryKind kind)
    {
        return kind == MemoryKind.USER && slot.broadcast();
    }

    private void unclaim(MemoryKind kind, boolean broadcast, long bytes)
    {
        limits.unclaim(kind, bytes);
        unclaimBroadcast(broadcast, bytes);
    }

    private void unclaimBroadcast(boolean broadcast, long bytes)
    {
        if (broadcast) {
            limits.unclaimBroadcast(bytes);
        }
    }

    // the direct pool is the node's alone: no tracker (trackers follow the heap), no pool move, no arbitration (its
    // steps free heap); a full direct pool blocks the caller until direct memory is freed or the cluster loop kills
    private MemoryFuture reserveDirect(PoolSlot slot, long delta)
    {
        directLimit.claim(delta, true);
        try {
            return slot.in(directPool).reserve(delta);
        }
        catch (RuntimeException e) {
            directLimit.unclaim(delta);
            throw e;
        }
    }

    private boolean tryReserveDirect(PoolSlot slot, long delta)
    {
        if (!directLimit.claim(delta, false)) {
            return false;
        }
        boolean reserved;
        try {
            reserved = slot.in(directPool).tryReserve(delta);
        }
        catch (RuntimeException e) {
            directLimit.unclaim(delta);
            throw e;
        }
        if (!reserved) {
            directLimit.unclaim(delta);
        }
        return reserved;
    }

    // the reservation is made; a pool left without room calls the node's arbitration at once, not at the next loop
    private MemoryFuture blockedIfPending(MemoryFuture future, long delta)
    {
        if (!future.isDone() && delta > 0) {
            node.blockedReservations().reservationBlocked(queryId, delta, future);
        }
        return future;
    }

    boolean tryReserve(PoolSlot slot, MemoryKind kind, long delta)
    {
        if (kind == MemoryKind.DIRECT) {
            return tryReserveDirect(slot, delta);
        }
        if (kind == MemoryKind.DIRECT_REVOCABLE) {
            if (!slot.in(directPool).tryReserveRevocable(delta)) {
                return false;
            }
            directLimit.addRevocable(delta);
            return true;
        }
        if (kind == MemoryKind.REVOCABLE) {
            // Trino's revocable root has no try path; memgov offers one: refuse if a limit or the pool would be exceeded
            if (!limits.claimRevocable(delta, false)) {
                return false;
            }
            boolean reserved;
            try {
                reserved = routing.tryReserve(slot, true, delta);
            }
            catch (RuntimeException e) {
                limits.unclaimRevocable(delta);
                throw e;
            }
            if (!reserved) {
                limits.unclaimRevocable(delta);
                return false;
            }
            limits.updatePeak();
            return true;
        }
        boolean broadcast = isBroadcast(slot, kind);
        if (broadcast && !limits.claimBroadcast(delta, false)) {
            return false;
        }
        boolean claimed;
        try {
            claimed = limits.claim(kind, delta, false);
        }
        catch (RuntimeException e) {
            unclaimBroadcast(broadcast, delta);
            throw e;
        }
        if (!claimed) {
            unclaimBroadcast(broadcast, delta);
            return false;
        }
        try {
            tracker.allocate(delta);
        }
        catch (MemoryLimitExceededException e) {
            unclaim(kind, broadcast, delta);
            return false;
        }
        catch (RuntimeException e) {
            unclaim(kind, broadcast, delta);
            throw e;
        }
        boolean reserved;
        try {
            reserved = routing.tryReserve(slot, false, delta);
        }
        catch (RuntimeException e) {
            tracker.free(delta);
            unclaim(kind, broadcast, delta);
            throw e;
        }
        if (!reserved) {
            tracker.free(delta);
            unclaim(kind, broadcast, delta);
            return false;
        }
        limits.updatePeak();
        return true;
    }

    void release(PoolSlot slot, MemoryKind kind, long bytes)
    {
        if (kind == MemoryKind.DIRECT) {
            slot.in(directPool).free(bytes);
            directLimit.unclaim(bytes);
            return;
        }
        if (kind == MemoryKind.DIRECT_REVOCABLE) {
            slot.in(directPool).freeRevocable(bytes);
            directLimit.addRevocable(-bytes);
            return;
        }
        if (kind == MemoryKind.REVOCABLE) {
            routing.free(slot, true, bytes);
            limits.unclaimRevocable(bytes);
            return;
        }
        routing.free(slot, false, bytes);
        tracker.free(bytes);
        unclaim(kind, isBroadcast(slot, kind), bytes);
    }
}
