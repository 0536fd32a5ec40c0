package io.memgov.spi.pool;

import io.memgov.spi.query.TaskId;

import static java.util.Objects.requireNonNull;

/** {@link MemoryPool#slot}'s default: every call is the pool's own call with the task and tag bound. */
final class PoolCallSlot
        implements MemoryPoolSlot
{
    private final MemoryPool pool;
    private final TaskId taskId;
    private final String tag;

    PoolCallSlot(MemoryPool pool, TaskId taskId, String tag)
    {
        this.pool = requireNonNull(pool, "pool is null");
        this.taskId = requireNonNull(taskId, "taskId is null");
        this.tag = requireNonNull(tag, "tag is null");
    }

    @Override
    public TaskId taskId()
    {
        return taskId;
    }

    @Override
    public String tag()
    {
        return tag;
    }

    @Override
    public MemoryFuture reserve(long bytes)
    {
        return pool.reserve(taskId, tag, bytes);
    }

    @Override
    public boolean tryReserve(long bytes)
    {
        return pool.tryReserve(taskId, tag, bytes);
    }

    @Override
    public void free(long bytes)
    {
        pool.free(taskId, tag, bytes);
    }

    @Override
    public MemoryFuture reserveRevocable(long bytes)
    {
        return pool.reserveRevocable(taskId, bytes);
    }

    @Override
    public boolean tryReserveRevocable(long bytes)
    {
        return pool.tryReserveRevocable(taskId, bytes);
    }

    @Override
    public void freeRevocable(long bytes)
    {
        pool.freeRevocable(taskId, bytes);
    }

    @Override
    public String toString()
    {
        return "MemoryPoolSlot{" + pool.id() + ", " + taskId + " " + tag + "}";
    }
}
