package io.memgov.lab;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.query.TaskId;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * What an operator's thread needs from the lab: set its accounted bytes and wait while the pool is full, as a driver
 * whose operator is blocked would, and stop as soon as memory governance killed its query.
 *
 * <p>It also remembers what the operator set its memory contexts to, the heap the operator may hold: memgov releases
 * a killed query's reservations at once, while its operator still holds that heap until its thread notices the kill
 * and lets go, which on a busy machine takes from microseconds to seconds (a rehash or a spill write in progress, a
 * thread waiting for a core). Granted to a waiting query meanwhile, the same bytes are allocated twice and the heap
 * runs out (issue #18's sweep: a query killed in the middle of a rehash went on allocating its new table for 770ms and
 * threw {@code OutOfMemoryError}, while the bytes it had reserved were already another query's). So the lab keeps
 * a killed task's bytes in its node's pool under {@link #KILLED_TASK_HEAP} from the kill ({@link #holdAfterKill}) until
 * its thread ended ({@link #taskEnded()}): Trino's rule, where a killed query's memory is freed when its operators
 * close, not when it is killed. Its accounting calls are thread-safe; the rest is the operator's thread's.
 */
final class OperatorDriver
{
    /** The tag a killed task's heap is held under in its node's pool until its thread ends. */
    static final String KILLED_TASK_HEAP = "KilledTaskHeap";

    /** Run between polls while blocked, e.g. an operator spilling because memgov asked it to give memory back. */
    interface WhileBlocked
    {
        void run() throws InterruptedException;
    }

    private final Supplier<MemoryGovernanceException> killed;
    private final AtomicInteger blockedTasks;
    // what the operator last set each of its contexts to, through this driver; guarded by this
    private final Map<LocalMemoryContext, Long> accounted = new IdentityHashMap<>();
    // the bytes held in the pool for the killed task, and where; guarded by this
    private long heldAfterKill;
    private MemoryPool holdingPool;
    private TaskId holdingTask;
    private boolean ended;

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
        // remembered before the reservation: a kill in between holds bytes not allocated yet, never the reverse
        accounted(memory, bytes);
        waitFor(memory.setBytes(bytes), whileBlocked);
    }

    /** Sets {@code memory} to 0, once the operator dropped what it accounted there; never blocks. */
    void release(LocalMemoryContext memory)
    {
        memory.setBytes(0);
        accounted(memory, 0);
    }

    /** Sets {@code memory} to {@code bytes} only if the pool has room for them now ({@link LocalMemoryContext#trySetBytes}). */
    boolean trySetBytes(LocalMemoryContext memory, long bytes)
    {
        if (!memory.trySetBytes(bytes)) {
            return false;
        }
        accounted(memory, bytes);
        return true;
    }

    /** The operator closed its memory contexts, having dropped what it held. */
    synchronized void closed()
    {
        accounted.clear();
    }

    /** What the operator's contexts hold as it set them: the heap it may hold. */
    synchronized long accountedBytes()
    {
        return accounted.values().stream().mapToLong(Long::longValue).sum();
    }

    private synchronized void accounted(LocalMemoryContext memory, long bytes)
    {
        accounted.put(memory, bytes);
    }

    /**
     * The task was killed and memgov released its reservations: reserves what the operator accounted in {@code pool}
     * for {@code taskId}, under {@link #KILLED_TASK_HEAP}, until {@link #taskEnded()}. Never blocks (the reservation
     * may leave the pool over its maximum: the next reservations wait, as they would have for the killed query in
     * Trino). Does nothing once the task ended or when already held. Called by the query failure listener.
     */
    synchronized void holdAfterKill(MemoryPool pool, TaskId taskId)
    {
        if (ended || holdingPool != null) {
            return;
        }
        long bytes = accountedBytes();
        if (bytes == 0) {
            return;
        }
        pool.reserve(taskId, KILLED_TASK_HEAP, bytes);
        heldAfterKill = bytes;
        holdingPool = pool;
        holdingTask = taskId;
    }

    /** The task's thread let go of the operator: frees what {@link #holdAfterKill} held, and holds nothing after. */
    synchronized void taskEnded()
    {
        ended = true;
        if (holdingPool != null) {
            holdingPool.free(holdingTask, KILLED_TASK_HEAP, heldAfterKill);
            holdingPool = null;
            heldAfterKill = 0;
        }
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
