package io.memgov.spi.tracker;

import io.memgov.spi.query.MemoryLimitExceededException;

import java.util.Optional;

/**
 * One level of a node's accounting tree (node, user, query, thread). It carries each delta from itself to the root,
 * checking every level's limit on the way.
 *
 * <p><b>Who calls.</b> The engine's node accounting calls {@link #allocate}/{@link #free} on a query's tracker for
 * every change of user or system memory, from the operator's thread, before the change reaches the pool. Hosts
 * that track memory themselves (ClickHouse style) may call them directly.
 *
 * <p><b>Failure.</b> {@link #allocate} that throws has changed nothing at any level: the whole chain is rolled back.
 *
 * <p><b>Batching.</b> A tracker may keep small deltas in the calling thread and carry them up later
 * ({@link #untrackedBytes()} reports how much is held back); it carries them before a limit check that would
 * otherwise be wrong, on {@link #flush()} and on {@link #close()}, so nothing is ever lost.
 *
 * <p><b>Threads.</b> Thread-safe. Counters are exact once every thread has flushed.
 *
 * @since 1.0
 */
public interface MemoryTracker
        extends AutoCloseable
{
    /** The tracker's level; never null. */
    TrackerLevel level();

    /** Names the tracker in messages and snapshots, e.g. the query id or the user; never null. */
    String description();

    /** The parent level, or empty for the node root. */
    Optional<MemoryTracker> parent();

    /** Bytes accounted at this level (not counting what threads still hold back). May be negative at thread level. */
    long usedBytes();

    /** The largest {@link #usedBytes()} seen. */
    long peakBytes();

    /** This level's hard limit in bytes, or 0 for none. */
    long hardLimitBytes();

    /**
     * Accounts {@code bytes} at this level and every parent.
     *
     * @param bytes non-negative
     * @throws MemoryLimitExceededException if a level would pass its limit; nothing changed at any level
     */
    void allocate(long bytes);

    /** Releases {@code bytes} at this level and every parent. Never fails for lack of bytes (levels may saturate). */
    void free(long bytes);

    /** Carries what the calling thread holds back for this tracker up the tree now. */
    default void flush() {}

    /** Bytes held back in threads for this tracker and not yet carried up (the drift); 0 when not batching. */
    default long untrackedBytes()
    {
        return 0;
    }

    /**
     * Creates a child level.
     *
     * @param level a level below this one; never null
     * @param description never null
     * @param hardLimitBytes the child's limit, or 0 for none; a policy may lower it from its own configuration
     */
    MemoryTracker newChild(TrackerLevel level, String description, long hardLimitBytes);

    /** Flushes and detaches this tracker; what it still holds stays accounted at the parents. Idempotent. */
    @Override
    default void close() {}
}
