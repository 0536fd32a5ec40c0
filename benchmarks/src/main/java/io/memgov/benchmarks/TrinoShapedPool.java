package io.memgov.benchmarks;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.trino.memory.context.MemoryReservationHandler;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * The work Trino's worker does for one reservation below its memory-context library, written for this benchmark
 * from the behaviour described in {@code research/trino-presto.md} §1.1 and §1.3: a pool whose reservation path holds
 * the pool's monitor while it updates the total and the per-query, per-query-per-tag and per-task maps (dropping
 * entries that reach zero), then tells its listeners outside the lock; and a per-query context that checks the
 * per-node limit under the query's monitor before reserving.
 *
 * <p>It is the baseline memgov's {@code fixed} pool is compared with, so it keeps exactly the bookkeeping a
 * {@code /v1/memory} snapshot needs, no more: no spill, no revocable memory, no moving queries between pools.
 */
final class TrinoShapedPool
{
    private static final ListenableFuture<Void> NOT_BLOCKED = Futures.immediateVoidFuture();

    private final long maxBytes;
    private long reservedBytes;
    // read without the pool's lock by the query contexts' limit check, as Trino does
    private final Map<QueryId, Long> queryMemoryReservations = new ConcurrentHashMap<>();
    private final Map<QueryId, Map<String, Long>> taggedMemoryAllocations = new HashMap<>();
    private final Map<TaskId, Long> taskMemoryReservations = new HashMap<>();
    private final List<Consumer<TrinoShapedPool>> listeners = new CopyOnWriteArrayList<>();
    private SettableFuture<Void> future;

    TrinoShapedPool(long maxBytes)
    {
        this.maxBytes = maxBytes;
        // Trino's revoking scheduler listens to the pool and checks its threshold after every reservation
        listeners.add(pool -> {
            if (pool.freeBytes() <= pool.maxBytes / 10) {
                throw new IllegalStateException("benchmark pool is nearly full: " + pool.freeBytes());
            }
        });
    }

    ListenableFuture<Void> reserve(TaskId taskId, String tag, long bytes)
    {
        ListenableFuture<Void> result;
        synchronized (this) {
            if (bytes != 0) {
                QueryId queryId = taskId.queryId();
                reservedBytes += bytes;
                queryMemoryReservations.merge(queryId, bytes, Long::sum);
                taggedMemoryAllocations.computeIfAbsent(queryId, ignored -> new HashMap<>()).merge(tag, bytes, Long::sum);
                taskMemoryReservations.merge(taskId, bytes, Long::sum);
            }
            if (maxBytes - reservedBytes <= 0) {
                if (future == null) {
                    future = SettableFuture.create();
                }
                result = future;
            }
            else {
                result = NOT_BLOCKED;
            }
        }
        listeners.forEach(listener -> listener.accept(this));
        return result;
    }

    void free(TaskId taskId, String tag, long bytes)
    {
        SettableFuture<Void> unblocked = null;
        synchronized (this) {
            if (bytes == 0) {
                return;
            }
            if (reservedBytes < bytes) {
                throw new IllegalArgumentException("tried to free more memory than is reserved");
            }
            QueryId queryId = taskId.queryId();
            reservedBytes -= bytes;
            decrement(queryMemoryReservations, queryId, bytes);
            Map<String, Long> tags = taggedMemoryAllocations.get(queryId);
            if (!queryMemoryReservations.containsKey(queryId)) {
                // a query back at zero drops its whole tag map
                taggedMemoryAllocations.remove(queryId);
            }
            else if (tags != null) {
                tags.merge(tag, -bytes, Long::sum);
            }
            decrement(taskMemoryReservations, taskId, bytes);
            if (maxBytes - reservedBytes > 0 && future != null) {
                unblocked = future;
                future = null;
            }
        }
        if (unblocked != null) {
            unblocked.set(null);
        }
    }

    private static <K> void decrement(Map<K, Long> counters, K key, long bytes)
    {
        long value = counters.getOrDefault(key, 0L) - bytes;
        if (value < 0) {
            throw new IllegalStateException("counter of " + key + " would be negative: " + value);
        }
        if (value == 0) {
            counters.remove(key);
        }
        else {
            counters.put(key, value);
        }
    }

    long queryMemoryReservation(QueryId queryId)
    {
        return queryMemoryReservations.getOrDefault(queryId, 0L);
    }

    synchronized long reservedBytes()
    {
        return reservedBytes;
    }

    synchronized long freeBytes()
    {
        return maxBytes - reservedBytes;
    }

    /**
     * One query on the node (Trino's {@code QueryContext}): the per-node user limit is checked under the query's
     * monitor, then the pool records the reservation; each task gets a handler bound to its id, as Trino's task roots
     * do.
     */
    static final class QueryContext
    {
        private final TrinoShapedPool pool;
        private final QueryId queryId;
        private final long maxUserBytes;

        QueryContext(TrinoShapedPool pool, QueryId queryId, long maxUserBytes)
        {
            this.pool = requireNonNull(pool, "pool is null");
            this.queryId = requireNonNull(queryId, "queryId is null");
            this.maxUserBytes = maxUserBytes;
        }

        synchronized ListenableFuture<Void> updateUserMemory(TaskId taskId, String tag, long delta)
        {
            if (delta >= 0) {
                long held = pool.queryMemoryReservation(queryId);
                if (held + delta > maxUserBytes) {
                    throw new IllegalStateException("Query exceeded per-node memory limit: " + (held + delta) + " > " + maxUserBytes);
                }
                ListenableFuture<Void> future = pool.reserve(taskId, tag, delta);
                return future.isDone() ? NOT_BLOCKED : future;
            }
            pool.free(taskId, tag, -delta);
            return NOT_BLOCKED;
        }

        synchronized boolean tryUpdateUserMemory(TaskId taskId, String tag, long delta)
        {
            if (delta <= 0) {
                updateUserMemory(taskId, tag, delta);
                return true;
            }
            if (pool.queryMemoryReservation(queryId) + delta > maxUserBytes || pool.freeBytes() - delta < 0) {
                return false;
            }
            pool.reserve(taskId, tag, delta);
            return true;
        }

        MemoryReservationHandler handler(TaskId taskId)
        {
            requireNonNull(taskId, "taskId is null");
            return new MemoryReservationHandler()
            {
                @Override
                public ListenableFuture<Void> reserveMemory(String allocationTag, long delta)
                {
                    return updateUserMemory(taskId, allocationTag, delta);
                }

                @Override
                public boolean tryReserveMemory(String allocationTag, long delta)
                {
                    return tryUpdateUserMemory(taskId, allocationTag, delta);
                }
            };
        }
    }
}
