package io.memgov.spi.pool;

import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

/**
 * One node's memory budget, with Trino's semantics: a {@link #reserve reservation} over the budget is still
 * recorded and returns a pending {@link MemoryFuture} on which the caller blocks; {@link #tryReserve} refuses instead
 * and changes nothing. Reservations are kept per query, per task and per tag, so that killers and snapshots see who
 * holds what.
 *
 * <p><b>Threads.</b> Every method is thread-safe and may be called concurrently by many operator threads; none
 * blocks. Implementations must not hold a global lock on the reservation path.
 *
 * <p><b>Units.</b> All amounts are bytes. Negative arguments throw {@link IllegalArgumentException}; zero is a no-op.
 *
 * <p><b>Failure.</b> A method that throws has changed no counter.
 *
 * <p>Created by a {@link MemoryPoolFactory}, one per node (and per pool id, for layouts with several pools); called
 * by the engine's node accounting, never directly by operators.
 *
 * @since 1.0
 */
public interface MemoryPool
{
    /** The pool's name on its node, e.g. {@code general}. */
    String id();

    /** The budget in bytes. May change at run time for pools that follow available memory ({@link ResizableMemoryPool}). */
    long maxBytes();

    /** User (and system) bytes reserved. Non-negative; may exceed {@link #maxBytes()}. */
    long reservedBytes();

    /** Revocable bytes reserved. Non-negative. */
    long reservedRevocableBytes();

    /** {@code max - reserved - revocable}; negative when over-committed. */
    default long freeBytes()
    {
        return maxBytes() - reservedBytes() - reservedRevocableBytes();
    }

    /**
     * Records {@code bytes} of user memory for the task under {@code tag}. Always records (a pool never refuses a
     * plain reservation for lack of space), then returns {@link MemoryFuture#NOT_BLOCKED} if free bytes are still
     * positive, or the pool's shared pending future, which completes once free bytes become positive again.
     *
     * @param taskId the task; never null
     * @param tag the consumer kind, e.g. {@code HashAggregation}; never null
     * @param bytes non-negative
     * @throws MemoryLimitExceededException if the pool's own policy refuses the reservation (for example a
     *         reserve-mode pool whose available memory is exhausted); nothing was recorded
     */
    MemoryFuture reserve(TaskId taskId, String tag, long bytes);

    /**
     * Records {@code bytes} only if that leaves free bytes non-negative (filling the pool exactly is allowed).
     *
     * @return true if recorded; false if refused, in which case nothing changed
     */
    boolean tryReserve(TaskId taskId, String tag, long bytes);

    /**
     * Releases user memory the task holds under {@code tag}.
     *
     * @throws IllegalArgumentException if the task, tag or query holds fewer bytes than {@code bytes}; nothing changed
     */
    void free(TaskId taskId, String tag, long bytes);

    /** As {@link #reserve}, for revocable memory; revocable memory has no tags. */
    MemoryFuture reserveRevocable(TaskId taskId, long bytes);

    /**
     * As {@link #tryReserve}, for revocable memory: records {@code bytes} only if that leaves free bytes non-negative,
     * atomically with respect to every other reservation (two callers racing for the last bytes cannot both pass).
     *
     * @return true if recorded; false if refused, in which case nothing changed
     */
    boolean tryReserveRevocable(TaskId taskId, long bytes);

    /** As {@link #free}, for revocable memory. */
    void freeRevocable(TaskId taskId, long bytes);

    /** User bytes the query holds in this pool; zero when unknown. */
    long queryReservedBytes(QueryId queryId);

    /** Revocable bytes the query holds in this pool; zero when unknown. */
    long queryRevocableBytes(QueryId queryId);

    /**
     * Tells the pool that the query is gone from this node and every reservation it made was freed, so the pool can
     * drop its bookkeeping. Called by the engine after a query context closes. Reservations still held are kept.
     */
    default void forgetQuery(QueryId queryId) {}

    /** Registers a listener told after every change. Listeners cannot be removed; they live as long as the pool. */
    void addListener(MemoryPoolListener listener);

    /** A snapshot; never null. */
    MemoryPoolInfo info();
}
