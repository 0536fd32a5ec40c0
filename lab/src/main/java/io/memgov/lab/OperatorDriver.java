package io.memgov.lab;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.MemoryGovernanceException;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * What an operator's thread needs from the lab: set its accounted bytes and wait while the pool is full, as a driver
 * whose operator is blocked would, and stop as soon as memory governance killed its query.
 */
final class OperatorDriver
{
    /** Run between polls while blocked, e.g. an operator spilling because memgov asked it to give memory back. */
    interface WhileBlocked
    {
        void run() throws InterruptedException;
    }

    private final Supplier<MemoryGovernanceException> killed;
    private final AtomicInteger blockedTasks;

    /**
     * @param killed the reason the query (or this task) was killed, or null while it runs
     * @param blockedTasks counts the tasks waiting for memory now, for the progress line
     */
    OperatorDriver(Supplier<MemoryGovernanceException> killed, AtomicInteger blockedTasks)
    {
        this.killed = requireNonNull(killed, "killed is null");
        this.blockedTasks = requireNonNull(blockedTasks, "blockedTasks is null");
    }

    /** A driver for tests and single operators: never killed. */
    static OperatorDriver unkilled()
    {
        return new OperatorDriver(() -> null, new AtomicInteger());
    }

    /** Throws the kill reason if the query was killed; operators call it between batches. */
    void checkNotKilled()
    {
        MemoryGovernanceException failure = killed.get();
        if (failure != null) {
            throw failure;
        }
    }

    /** Sets the bytes accounted in {@code memory} and waits until the pool has room again. */
    void setBytes(LocalMemoryContext memory, long bytes, WhileBlocked whileBlocked)
            throws InterruptedException
    {
        checkNotKilled();
        waitFor(memory.setBytes(bytes), whileBlocked);
    }

    void waitFor(MemoryFuture future, WhileBlocked whileBlocked)
            throws InterruptedException
    {
        if (future.isDone()) {
            return;
        }
        blockedTasks.incrementAndGet();
        try {
            while (!future.isDone()) {
                checkNotKilled();
                whileBlocked.run();
                try {
                    future.get(20, TimeUnit.MILLISECONDS);
                }
                catch (TimeoutException e) {
                    // still blocked: check for a kill or a revoke request, then wait again
                }
                catch (ExecutionException e) {
                    throw new IllegalStateException("memory future failed", e);
                }
            }
        }
        finally {
            blockedTasks.decrementAndGet();
        }
        checkNotKilled();
    }
}
