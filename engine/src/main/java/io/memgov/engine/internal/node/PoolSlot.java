package io.memgov.engine.internal.node;

import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.TaskId;

import static java.util.Objects.requireNonNull;

/**
 * Where one operator's memory goes in its query's pool: its task and tag, and, when the pool is the engine's
 * {@link FixedMemoryPool}, that pool's cells for them, looked up on first use and kept, so that every later
 * reservation skips the pool's maps. Shared by the operator's user, system and revocable contexts.
 */
final class PoolSlot
{
    private final TaskId taskId;
    private final String tag;
    // immutable and published through its final fields, so a racy read sees either null or a whole handle; a race
    // costs at most one extra look-up
    private FixedMemoryPool.Handle handle;

    PoolSlot(TaskId taskId, String tag)
    {
        this.taskId = requireNonNull(taskId, "taskId is null");
        this.tag = requireNonNull(tag, "tag is null");
    }

    TaskId taskId()
    {
        return taskId;
    }

    String tag()
    {
        return tag;
    }

    /** The cells in {@code pool}, or null when it is not a {@link FixedMemoryPool} (callers then use the SPI calls). */
    FixedMemoryPool.Handle handle(MemoryPool pool)
    {
        FixedMemoryPool.Handle cached = handle;
        // a query that moved pools, or was forgotten by its pool, needs the cells of where it is now
        if (cached != null && cached.pool() == pool && !cached.isStale()) {
            return cached;
        }
        if (!(pool instanceof FixedMemoryPool fixed)) {
            return null;
        }
        cached = fixed.handle(taskId, tag);
        handle = cached;
        return cached;
    }

    @Override
    public String toString()
    {
        return taskId + " " + tag;
    }
}
