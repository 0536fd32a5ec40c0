package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolSlot;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import static java.util.Objects.requireNonNull;

/**
 * Which pool of its node a query reserves in, and its moves between pools (Presto's
 * {@code QueryContext.setMemoryPool}). Every pool call of the query goes through here, to the pool's slot for the
 * context's task and tag.
 */
final class QueryPoolRouting
{
    private final QueryId queryId;
    private final NodeId nodeId;
    private volatile MemoryPool pool;
    // taken shared by every pool call of the query and exclusively by a move, so that no reservation lands in the pool
    // the query is leaving; null when the node has a single pool and the query can never move (no cost then)
    private final ReentrantReadWriteLock poolLock;
    // futures handed to callers blocked while the query can move: a move completes them, since the pool they wait on
    // is no longer the query's
    private final Set<MemoryFuture> blockedFutures = ConcurrentHashMap.newKeySet();

    QueryPoolRouting(QueryId queryId, NodeId nodeId, MemoryPool pool, boolean movable)
    {
        this.queryId = requireNonNull(queryId, "queryId is null");
        this.nodeId = requireNonNull(nodeId, "nodeId is null");
        this.pool = requireNonNull(pool, "pool is null");
        this.poolLock = movable ? new ReentrantReadWriteLock() : null;
    }

    /** The pool the query reserves in now. */
    MemoryPool pool()
    {
        return pool;
    }

    // revocable memory is kept per task only: the pools have no tags for it
    MemoryFuture reserve(PoolSlot slot, boolean revocable, long delta)
    {
        if (poolLock == null) {
            return reserveIn(pool, slot, revocable, delta);
        }
        poolLock.readLock().lock();
        try {
            MemoryFuture future = reserveIn(pool, slot, revocable, delta);
            if (future.isDone()) {
                return future;
            }
            // registered under the shared lock, so a move either sees this future or happens after the caller got it
            MemoryFuture blocked = MemoryFuture.pending();
            blockedFutures.add(blocked);
            future.thenRun(blocked::signal);
            blocked.thenRun(() -> blockedFutures.remove(blocked));
            return blocked;
        }
        finally {
            poolLock.readLock().unlock();
        }
    }

    boolean tryReserve(PoolSlot slot, boolean revocable, long delta)
    {
        if (poolLock == null) {
            return tryReserveIn(pool, slot, revocable, delta);
        }
        poolLock.readLock().lock();
        try {
            return tryReserveIn(pool, slot, revocable, delta);
        }
        finally {
            poolLock.readLock().unlock();
        }
    }

    void free(PoolSlot slot, boolean revocable, long bytes)
    {
        if (poolLock == null) {
            freeIn(pool, slot, revocable, bytes);
            return;
        }
        poolLock.readLock().lock();
        try {
            freeIn(pool, slot, revocable, bytes);
        }
        finally {
            poolLock.readLock().unlock();
        }
    }

    // through the pool's slot for the task and tag: the fixed pool's cells (no map look-up), or the pool's own calls
    private static MemoryFuture reserveIn(MemoryPool pool, PoolSlot slot, boolean revocable, long delta)
    {
        MemoryPoolSlot target = slot.in(pool);
        return revocable ? target.reserveRevocable(delta) : target.reserve(delta);
    }

    private static boolean tryReserveIn(MemoryPool pool, PoolSlot slot, boolean revocable, long delta)
    {
        MemoryPoolSlot target = slot.in(pool);
        return revocable ? target.tryReserveRevocable(delta) : target.tryReserve(delta);
    }

    private static void freeIn(MemoryPool pool, PoolSlot slot, boolean revocable, long bytes)
    {
        MemoryPoolSlot target = slot.in(pool);
        if (revocable) {
            target.freeRevocable(bytes);
        }
        else {
            target.free(bytes);
        }
    }

    /**
     * Moves everything the query holds on this node to {@code target}, keeping its bytes per task and per tag, then
     * wakes its blocked callers once {@code target} has room. Waits for the query's in-flight reservations;
     * reservations made meanwhile by other queries are unaffected. If a pool refuses, nothing moved.
     *
     * @throws IllegalStateException if the node has a single pool
     */
    void moveTo(MemoryPool target)
    {
        requireNonNull(target, "target is null");
        if (poolLock == null) {
            throw new IllegalStateException("query " + queryId + " cannot move: node " + nodeId + " has a single pool");
        }
        MemoryPool source;
        MemoryFuture targetFuture;
        List<MemoryFuture> toWake;
        poolLock.writeLock().lock();
        try {
            source = pool;
            if (source == target) {
                return;
            }
            targetFuture = QueryPoolTransfer.transfer(queryId, source, target);
            pool = target;
            toWake = List.copyOf(blockedFutures);
            blockedFutures.removeAll(toWake);
        }
        finally {
            poolLock.writeLock().unlock();
        }
        source.forgetQuery(queryId);
        // the callers blocked on the old pool; when the new one is full too they wait for it, not for the old one
        targetFuture.thenRun(() -> toWake.forEach(MemoryFuture::signal));
    }
}
