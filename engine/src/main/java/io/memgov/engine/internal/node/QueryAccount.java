package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;
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
    private final QueryLimits limits;
    private final MemoryTracker tracker;
    private final QueryPoolRouting routing;

    QueryAccount(QueryLimits limits, MemoryTracker tracker, QueryPoolRouting routing)
    {
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

    MemoryFuture reserve(PoolSlot slot, MemoryKind kind, long delta)
    {
        if (kind == MemoryKind.REVOCABLE) {
            // the query's counter first, as for user memory, so that its overflow check refuses before the pool moved
            limits.addRevocable(delta);
            MemoryFuture future;
            try {
                future = routing.reserve(slot, true, delta);
            }
            catch (RuntimeException e) {
                limits.addRevocable(-delta);
                throw e;
            }
            limits.updatePeak();
            return future;
        }
        limits.claim(kind, delta, true);
        try {
            tracker.allocate(delta);
        }
        catch (RuntimeException e) {
            limits.unclaim(kind, delta);
            throw e;
        }
        try {
            MemoryFuture future = routing.reserve(slot, false, delta);
            limits.updatePeak();
            return future;
        }
        catch (RuntimeException e) {
            tracker.free(delta);
            limits.unclaim(kind, delta);
            throw e;
        }
    }

    boolean tryReserve(PoolSlot slot, MemoryKind kind, long delta)
    {
        if (kind == MemoryKind.REVOCABLE) {
            // Trino's revocable root has no try path; memgov offers one: refuse only if the pool would over-commit
            limits.addRevocable(delta);
            boolean reserved;
            try {
                reserved = routing.tryReserve(slot, true, delta);
            }
            catch (RuntimeException e) {
                limits.addRevocable(-delta);
                throw e;
            }
            if (!reserved) {
                limits.addRevocable(-delta);
                return false;
            }
            limits.updatePeak();
            return true;
        }
        if (!limits.claim(kind, delta, false)) {
            return false;
        }
        try {
            tracker.allocate(delta);
        }
        catch (MemoryLimitExceededException e) {
            limits.unclaim(kind, delta);
            return false;
        }
        boolean reserved;
        try {
            reserved = routing.tryReserve(slot, false, delta);
        }
        catch (RuntimeException e) {
            tracker.free(delta);
            limits.unclaim(kind, delta);
            throw e;
        }
        if (!reserved) {
            tracker.free(delta);
            limits.unclaim(kind, delta);
            return false;
        }
        limits.updatePeak();
        return true;
    }

    void release(PoolSlot slot, MemoryKind kind, long bytes)
    {
        if (kind == MemoryKind.REVOCABLE) {
            routing.free(slot, true, bytes);
            limits.addRevocable(-bytes);
            return;
        }
        routing.free(slot, false, bytes);
        tracker.free(bytes);
        limits.unclaim(kind, bytes);
    }
}
