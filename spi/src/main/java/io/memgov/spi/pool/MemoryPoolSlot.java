package io.memgov.spi.pool;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.TaskId;

/**
 * One task's and one tag's place in a {@link MemoryPool}, from {@link MemoryPool#slot}: the pool's reserve, try and
 * free calls with the task and the tag bound. The engine asks for a slot once per memory context (an operator's, a
 * task's own, a query's own) and reserves through it on every change that reaches the pool, so a pool that offers its
 * own slots can look its bookkeeping up once instead of on every call. A pool that does not gets
 * {@linkplain MemoryPool#slot the default}, which makes the pool's own calls.
 *
 * <p><b>Same results as the pool.</b> Each method does exactly what the pool's method of the same name does with
 * {@link #taskId()} and {@link #tag()} (revocable memory has no tag): the same counters, the same futures, the same
 * listeners told, the same snapshots, the same exceptions. In particular each call fully applies or changes nothing:
 * a method that throws, or a try that returns false, changed no counter of the pool, its task, its tag or its query.
 *
 * <p><b>Threads.</b> Thread-safe: the engine calls one slot from every thread that changes the context's memory,
 * concurrently with the pool's own calls and with other slots of the same task, tag or query. No method blocks.
 *
 * <p><b>Staleness.</b> A slot stays usable for the pool's whole life. After the pool
 * {@linkplain MemoryPool#forgetQuery forgot} the slot's query, or after the query moved to another pool and came back,
 * every call still applies exactly as the pool's own call would (a slot may then fall back to slower look-ups);
 * {@link #isStale()} may turn true to tell the caller that a new slot from {@link MemoryPool#slot} would be faster.
 * The engine never uses a slot of one pool for a reservation in another: a query that moved gets new slots.
 *
 * @since 1.1
 */
@Experimental
public interface MemoryPoolSlot
{
    /** The task every reservation of this slot is recorded for; never null. */
    TaskId taskId();

    /** The tag every user-memory reservation of this slot is recorded under; never null. */
    String tag();

    /**
     * As {@link MemoryPool#reserve}.
     *
     * @throws MemoryLimitExceededException if the pool's own policy refuses; nothing was recorded
     */
    MemoryFuture reserve(long bytes);

    /** As {@link MemoryPool#tryReserve}. */
    boolean tryReserve(long bytes);

    /** As {@link MemoryPool#free}. */
    void free(long bytes);

    /** As {@link MemoryPool#reserveRevocable}: the tag plays no part. */
    MemoryFuture reserveRevocable(long bytes);

    /** As {@link MemoryPool#tryReserveRevocable}. */
    boolean tryReserveRevocable(long bytes);

    /** As {@link MemoryPool#freeRevocable}. */
    void freeRevocable(long bytes);

    /**
     * True once a new slot from {@link MemoryPool#slot} would serve the same task and tag faster (the pool forgot the
     * query and this slot now looks its bookkeeping up on every call). The slot still works either way. False by
     * default: a slot that makes the pool's own calls never gets slower.
     */
    default boolean isStale()
    {
        return false;
    }
}
