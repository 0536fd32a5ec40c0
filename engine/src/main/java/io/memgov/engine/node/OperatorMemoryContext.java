package io.memgov.engine.node;

import io.memgov.spi.pool.MemoryFuture;

import static java.util.Objects.requireNonNull;

/**
 * One operator of a task (a consumer such as {@code HashAggregation}), holding user, system and revocable memory.
 * Closing it releases everything it holds.
 */
public final class OperatorMemoryContext
        implements AutoCloseable
{
    private final TaskMemoryContext task;
    private final String tag;
    private final Local user = new Local(MemoryKind.USER);
    private final Local system = new Local(MemoryKind.SYSTEM);
    private final Local revocable = new Local(MemoryKind.REVOCABLE);

    OperatorMemoryContext(TaskMemoryContext task, String tag)
    {
        this.task = requireNonNull(task, "task is null");
        this.tag = requireNonNull(tag, "tag is null");
    }

    public TaskMemoryContext task()
    {
        return task;
    }

    /** The operator kind, e.g. {@code HashAggregation}; the pool keeps per-tag totals. */
    public String tag()
    {
        return tag;
    }

    public LocalMemoryContext userMemory()
    {
        return user;
    }

    public LocalMemoryContext systemMemory()
    {
        return system;
    }

    public LocalMemoryContext revocableMemory()
    {
        return revocable;
    }

    /** Releases all three kinds. Idempotent. */
    @Override
    public void close()
    {
        user.close();
        system.close();
        revocable.close();
        task.operatorClosed(this);
    }

    /** Drops what the operator holds without the checks of a normal call: the query was killed. */
    void forceRelease()
    {
        user.forceRelease();
        system.forceRelease();
        revocable.forceRelease();
    }

    @Override
    public String toString()
    {
        return "OperatorMemoryContext{" + task.taskId() + " " + tag + ", user=" + user.bytes() + ", system=" + system.bytes() + ", revocable=" + revocable.bytes() + "}";
    }

    private final class Local
            implements LocalMemoryContext
    {
        private final MemoryKind kind;
        // written under this context's monitor, read without it: a limit message reads every operator of the query
        // while its own operator's monitor is held, and taking the others' monitors there could deadlock
        private volatile long bytes;
        private boolean closed;

        Local(MemoryKind kind)
        {
            this.kind = kind;
        }

        @Override
        public long bytes()
        {
            return bytes;
        }

        @Override
        public synchronized MemoryFuture setBytes(long newBytes)
        {
            checkUsable(newBytes);
            long delta = newBytes - bytes;
            if (delta == 0) {
                return MemoryFuture.NOT_BLOCKED;
            }
            // the parents are updated first; only if they accept is the new value committed here
            MemoryFuture future = task.update(kind, tag, delta);
            bytes = newBytes;
            return future;
        }

        @Override
        public synchronized boolean trySetBytes(long newBytes)
        {
            checkUsable(newBytes);
            long delta = newBytes - bytes;
            if (delta <= 0) {
                setBytes(newBytes);
                return true;
            }
            if (!task.tryUpdate(kind, tag, delta)) {
                return false;
            }
            bytes = newBytes;
            return true;
        }

        @Override
        public synchronized void close()
        {
            if (closed) {
                return;
            }
            closed = true;
            if (bytes != 0) {
                task.release(kind, tag, bytes);
                bytes = 0;
            }
        }

        synchronized void forceRelease()
        {
            if (bytes != 0) {
                task.release(kind, tag, bytes);
                bytes = 0;
            }
        }

        private void checkUsable(long newBytes)
        {
            if (closed) {
                throw new IllegalStateException(kind.name().toLowerCase(java.util.Locale.ROOT) + " memory context of " + task.taskId() + " " + tag + " is already closed");
            }
            if (newBytes < 0) {
                throw new IllegalArgumentException("bytes is negative: " + newBytes);
            }
            task.checkNotFailed();
        }
    }
}
