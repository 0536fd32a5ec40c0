package io.memgov.spi.pool;

import io.memgov.spi.annotation.Experimental;
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

    /**
     * The place of one task and tag in this pool, for a caller that reserves there many times: the engine asks once
     * per memory context (an operator's, a task's own, a query's own) and then reserves, tries and frees through the
     * slot. The slot's calls have exactly the results of this pool's calls with the task and tag bound (see
     * {@link MemoryPoolSlot} for its contract on threads, failure and staleness after {@link #forgetQuery}). A pool
     * overrides this only to make those calls cheaper, e.g. by looking its per-task and per-tag counters up once.
     *
     * <p>The default returns a slot whose every call is this pool's own call. Thread-safe; never blocks; may be
     * called for a task of a query the pool has never seen.
     *
     * @param taskId the task; never null
     * @param tag the consumer kind, e.g. {@code HashAggregation}; never null
     * @return a new or cached slot; never null
     * @since 1.1
     */
    @Experimental
    default MemoryPoolSlot slot(TaskId taskId, String tag)
    {
        return new PoolCallSlot(this, taskId, tag);
    }

    /** User bytes the query holds in this pool; zero when unknown. */
    long queryReservedBytes(QueryId queryId);

    /** Revocable bytes the query holds in this pool; zero when unknown. */
    long queryRevocableBytes(QueryId queryId);

    /**
     * Tells the pool that the query is gone from this node and every reservation it made was freed, so the pool can
     * drop its bookkeeping. Called by the engine after a query context closes. Reservations still held are kept.
     */
    default void forgetQuery(QueryId queryId) {}

    /**
     * Tells the pool that a client fetched results of the query: its host reported it through the query's context on
     * this node ({@code QueryMemoryContext.resultsFetched()} in the engine's host API). A pool that retires queries
     * nobody reads from (TDengine's no-fetch timeout; reserve mode's {@code query-idle-timeout}) counts the query's
     * idleness from this call; the default does nothing.
     *
     * <p>Called by the engine on the host's thread, concurrently with reservations of the same query and with fetches
     * reported on other threads: thread-safe, cheap, never blocks. It should not throw; the engine logs a throw and
     * goes on. It may come for a query that holds nothing in this pool, or that the pool never saw. The engine stops
     * calling it once the query's context on the node is closed, though a fetch reported while the query closes may
     * still arrive after {@link #forgetQuery}.
     *
     * @param queryId never null
     * @since 1.1
     */
    @Experimental
    default void queryResultsFetched(QueryId queryId) {}

    /** Registers a listener told after every change. Listeners cannot be removed; they live as long as the pool. */
    void addListener(MemoryPoolListener listener);

    /** A snapshot; never null. */
    MemoryPoolInfo info();
}
