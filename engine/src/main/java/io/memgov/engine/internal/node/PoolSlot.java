package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolSlot;
import io.memgov.spi.query.TaskId;

import static java.util.Objects.requireNonNull;

/**
 * Where one memory context's reservations go in its query's pool: its task and tag, and the pool's
 * {@link MemoryPool#slot slot} for them, asked for on first use and kept, so that a pool offering its own slots (the
 * engine's fixed pool: its per-task and per-tag cells) is reached without a look-up on every change. Shared by an
 * operator's user, system and revocable memory. A broadcast operator's slot says so, so that its user memory is also
 * counted against the query's broadcast limit.
 */
final class PoolSlot
{
    private final TaskId taskId;
    private final String tag;
    private final boolean broadcast;
    // immutable and published through its final fields, so a racy read sees either null or a whole pair; a race costs
    // at most one extra slot
    private Cached cached;

    PoolSlot(TaskId taskId, String tag)
    {
        this(taskId, tag, false);
    }

    PoolSlot(TaskId taskId, String tag, boolean broadcast)
    {
        this.taskId = requireNonNull(taskId, "taskId is null");
        this.tag = requireNonNull(tag, "tag is null");
        this.broadcast = broadcast;
    }

    TaskId taskId()
    {
        return taskId;
    }

    String tag()
    {
        return tag;
    }

    /** True for a broadcast operator's slot: its user memory counts toward {@code query.max-broadcast-memory}. */
    boolean broadcast()
    {
        return broadcast;
    }

    /** The slot of this task and tag in {@code pool}: the one kept, unless the query moved or the slot went stale. */
    MemoryPoolSlot in(MemoryPool pool)
    {
        Cached current = cached;
        if (current != null && current.pool == pool && !current.slot.isStale()) {
            return current.slot;
        }
        MemoryPoolSlot slot = requireNonNull(pool.slot(taskId, tag), () -> "pool '" + pool.id() + "' returned no slot for " + taskId + " " + tag);
        cached = new Cached(pool, slot);
        return slot;
    }

    @Override
    public String toString()
    {
        return taskId + " " + tag;
    }

    private record Cached(MemoryPool pool, MemoryPoolSlot slot) {}
}
