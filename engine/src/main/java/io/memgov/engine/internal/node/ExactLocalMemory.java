package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;

import java.util.Locale;

import static java.util.Objects.requireNonNull;

/**
 * One local memory, exact: every change is carried to its parents as it is made, under this object's monitor, so
 * {@link #reservedBytes()} always equals {@link #bytes()}. Its parent is its task, which carries the change on to the
 * query, the tracker and the pool; a query's own memory has the query as its parent. A change a parent refuses
 * changes nothing here.
 */
final class ExactLocalMemory
        implements LocalMemory
{
    /** Told under the memory's monitor when its reservation grew, or dropped to zero: an operator's revoke bookkeeping. */
    interface Listener
    {
        void reservationGrew(MemoryKind kind);

        void reservationDropped(MemoryKind kind);
    }

    private final QueryContextState query;
    // null for a query's own memory
    private final TaskState task;
    private final MemoryKind kind;
    private final PoolSlot slot;
    // null when nobody listens
    private final Listener listener;
    // written under this monitor, read without it: a limit message reads every operator of the query while its own
    // operator's monitor is held, and taking the others' monitors there could deadlock
    private volatile long bytes;
    // guarded by this monitor
    private boolean closed;

    private ExactLocalMemory(QueryContextState query, TaskState task, MemoryKind kind, PoolSlot slot, Listener listener)
    {
        this.query = requireNonNull(query, "query is null");
        this.task = task;
        this.kind = requireNonNull(kind, "kind is null");
        this.slot = requireNonNull(slot, "slot is null");
        this.listener = listener;
    }

    /** Memory of {@code task}, counted at the task, its query, the tracker and the pool. */
    static ExactLocalMemory ofTask(TaskState task, MemoryKind kind, PoolSlot slot, Listener listener)
    {
        return new ExactLocalMemory(task.query, task, kind, slot, listener);
    }

    /** Memory of {@code query} that no task owns, counted at the query, the tracker and the pool. */
    static ExactLocalMemory ofQuery(QueryContextState query, MemoryKind kind, PoolSlot slot)
    {
        return new ExactLocalMemory(query, null, kind, slot, null);
    }

    @Override
    public long bytes()
    {
        return bytes;
    }

    @Override
    public long reservedBytes()
    {
        return bytes;
    }

    @Override
    public synchronized MemoryFuture setBytes(long newBytes)
    {
        checkUsable(newBytes);
        long delta = newBytes - bytes;
        // the parents are updated first; only if they accept is the new value committed here
        MemoryFuture future = delta == 0 ? MemoryFuture.NOT_BLOCKED : charge(delta);
        commit(newBytes, delta);
        return future;
    }

    @Override
    public synchronized boolean trySetBytes(long newBytes)
    {
        checkUsable(newBytes);
        long delta = newBytes - bytes;
        if (delta > 0) {
            boolean reserved = task != null ? task.tryReserve(kind, slot, delta) : query.account().tryReserve(slot, kind, delta);
            if (!reserved) {
                return false;
            }
        }
        else if (delta < 0) {
            release(-delta);
        }
        commit(newBytes, delta);
        return true;
    }

    private MemoryFuture charge(long delta)
    {
        if (delta < 0) {
            release(-delta);
            return MemoryFuture.NOT_BLOCKED;
        }
        return task != null ? task.reserve(kind, slot, delta) : query.account().reserve(slot, kind, delta);
    }

    private void release(long bytes)
    {
        if (task != null) {
            task.release(kind, slot, bytes);
        }
        else {
            query.account().release(slot, kind, bytes);
        }
    }

    private void commit(long newBytes, long delta)
    {
        bytes = newBytes;
        if (listener != null && delta != 0) {
            if (delta > 0) {
                listener.reservationGrew(kind);
            }
            else if (newBytes == 0) {
                listener.reservationDropped(kind);
            }
        }
    }

    @Override
    public synchronized long close()
    {
        if (closed) {
            return 0;
        }
        closed = true;
        long released = bytes;
        forceRelease();
        return released;
    }

    @Override
    public synchronized void forceRelease()
    {
        if (bytes != 0) {
            release(bytes);
            bytes = 0;
        }
    }

    private void checkUsable(long newBytes)
    {
        if (closed) {
            throw new IllegalStateException(kind.name().toLowerCase(Locale.ROOT) + " memory context of " + owner() + " is already closed");
        }
        if (newBytes < 0) {
            throw new IllegalArgumentException("bytes cannot be negative: " + newBytes);
        }
        query.node().checkEngineOpen();
        if (task != null) {
            task.checkNotFailed();
        }
        else {
            query.checkNotFailed();
        }
    }

    // "q1.0 HashAggregation", "q1.0 (task-local)", "q1 (query-local)"
    private String owner()
    {
        return (task != null ? task.taskId.toString() : query.queryId().toString()) + " " + slot.tag();
    }

    @Override
    public String toString()
    {
        return kind + " " + owner() + "=" + bytes;
    }
}
