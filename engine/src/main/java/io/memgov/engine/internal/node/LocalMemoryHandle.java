package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.spi.pool.MemoryFuture;

import static java.util.Objects.requireNonNull;

/**
 * The host's {@link LocalMemoryContext} over one {@link LocalMemory}. It holds the handle that owns the memory (an
 * operator's, a task's or a query's), so a host that keeps only this context keeps that handle, and the cleaner does
 * not release the memory under it.
 */
final class LocalMemoryHandle
        implements LocalMemoryContext
{
    @SuppressWarnings({"unused", "FieldCanBeLocal"})
    private final Object owner;
    private final LocalMemory target;

    LocalMemoryHandle(Object owner, LocalMemory target)
    {
        this.owner = requireNonNull(owner, "owner is null");
        this.target = requireNonNull(target, "target is null");
    }

    @Override
    public long bytes()
    {
        return target.bytes();
    }

    @Override
    public long reservedBytes()
    {
        return target.reservedBytes();
    }

    // no reachability fence: if the owner is collected mid-call, the cleaner's release waits for this call's monitor
    // and then releases what it committed, so the counters stay exact
    @Override
    public MemoryFuture setBytes(long bytes)
    {
        return target.setBytes(bytes);
    }

    @Override
    public boolean trySetBytes(long bytes)
    {
        return target.trySetBytes(bytes);
    }

    @Override
    public void close()
    {
        target.close();
    }

    @Override
    public String toString()
    {
        return target.toString();
    }
}
