package io.memgov.engine.pool;

import io.memgov.spi.QueryId;
import io.memgov.spi.TaskId;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

import static java.util.Objects.requireNonNull;

/**
 * The engine's standard pool (policy {@code fixed}) with Trino's semantics, without Trino's pool-wide lock: every
 * counter (pool, query, task, tag) is its own atomic cell, so reservations of different queries never contend on a
 * lock. Cells of a query live until the engine {@link #forgetQuery forgets} it; snapshots leave out zero entries,
 * which is what Trino's maps show after removing them.
 */
public final class FixedMemoryPool
        implements MemoryPool
{
    private static final Logger log = LoggerFactory.getLogger(FixedMemoryPool.class);

    private final String id;
    private volatile long maxBytes;
    private final AtomicLong reservedBytes = new AtomicLong();
    private final AtomicLong reservedRevocableBytes = new AtomicLong();
    private final ConcurrentHashMap<QueryId, QueryCells> queries = new ConcurrentHashMap<>();
    private final List<MemoryPoolListener> listeners = new CopyOnWriteArrayList<>();

    private final Object futureLock = new Object();
    // the shared future callers block on; null while free bytes are positive
    private volatile MemoryFuture future;

    public FixedMemoryPool(String id, long maxBytes)
    {
        this.id = requireNonNull(id, "id is null");
        checkNonNegative(maxBytes, "maxBytes");
        this.maxBytes = maxBytes;
    }

    @Override
    public String id()
    {
        return id;
    }

    @Override
    public long maxBytes()
    {
        return maxBytes;
    }

    @Override
    public void setMaxBytes(long maxBytes)
    {
        checkNonNegative(maxBytes, "maxBytes");
        this.maxBytes = maxBytes;
        signalIfFree();
        notifyListeners();
    }

    @Override
    public long reservedBytes()
    {
        return reservedBytes.get();
    }

    @Override
    public long reservedRevocableBytes()
    {
        return reservedRevocableBytes.get();
    }

    @Override
    public long freeBytes()
    {
        return maxBytes - reservedBytes.get() - reservedRevocableBytes.get();
    }

    @Override
    public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        checkNonNegative(bytes, "bytes");
        if (bytes != 0) {
            reservedBytes.addAndGet(bytes);
            recordUser(taskId, tag, bytes);
        }
        return afterReserve();
    }

    @Override
    public boolean tryReserve(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return true;
        }
        if (!claimIfFree(reservedBytes, bytes)) {
            return false;
        }
        recordUser(taskId, tag, bytes);
        notifyListeners();
        return true;
    }

    @Override
    public void free(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return;
        }
        QueryCells query = heldBy(taskId, "memory");
        release(bytes, level -> switch (level) {
            case 0 -> "task " + taskId;
            case 1 -> "tag " + tag + " of query " + taskId.queryId();
            case 2 -> "query " + taskId.queryId();
            default -> "pool '" + id + "'";
        }, query.tasks.get(taskId), query.tags.get(tag), query.user, reservedBytes);
        afterFree();
    }

    @Override
    public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        checkNonNegative(bytes, "bytes");
        if (bytes != 0) {
            reservedRevocableBytes.addAndGet(bytes);
            recordRevocable(taskId, bytes);
        }
        return afterReserve();
    }

    @Override
    public boolean tryReserveRevocable(TaskId taskId, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return true;
        }
        // a user try and a revocable try racing each other may still over-commit by one of them, which a plain
        // reserve may do anyway
        if (!claimIfFree(reservedRevocableBytes, bytes)) {
            return false;
        }
        recordRevocable(taskId, bytes);
        notifyListeners();
        return true;
    }

    @Override
    public void freeRevocable(TaskId taskId, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return;
        }
        QueryCells query = heldBy(taskId, "revocable memory");
        release(bytes, level -> switch (level) {
            case 0 -> "revocable memory of task " + taskId;
            case 1 -> "revocable memory of query " + taskId.queryId();
            default -> "revocable memory of pool '" + id + "'";
        }, query.revocableTasks.get(taskId), query.revocable, reservedRevocableBytes);
        afterFree();
    }

    private void recordUser(TaskId taskId, String tag, long bytes)
    {
        QueryCells query = cells(taskId.queryId());
        query.task(taskId).addAndGet(bytes);
        query.tag(tag).addAndGet(bytes);
        query.user.addAndGet(bytes);
    }

    private void recordRevocable(TaskId taskId, long bytes)
    {
        QueryCells query = cells(taskId.queryId());
        query.revocableTask(taskId).addAndGet(bytes);
        query.revocable.addAndGet(bytes);
    }

    /**
     * Adds {@code bytes} to {@code total} only if the pool stays within its maximum. Claiming on the total first is
     * what keeps two concurrent tries from both taking the last free bytes.
     */
    private boolean claimIfFree(AtomicLong total, long bytes)
    {
        while (true) {
            long before = total.get();
            if (freeBytes() - bytes < 0) {
                return false;
            }
            if (total.compareAndSet(before, before + bytes)) {
                return true;
            }
        }
    }

    private MemoryFuture afterReserve()
    {
        MemoryFuture result = freeBytes() > 0 ? MemoryFuture.NOT_BLOCKED : blockedFuture();
        notifyListeners();
        return result;
    }

    private void afterFree()
    {
        signalIfFree();
        notifyListeners();
    }

    private QueryCells heldBy(TaskId taskId, String what)
    {
        QueryCells query = queries.get(taskId.queryId());
        if (query == null) {
            throw new IllegalArgumentException("tried to free more " + what + " than is reserved: query " + taskId.queryId() + " holds nothing in pool '" + id + "'");
        }
        return query;
    }

    /**
     * Takes {@code bytes} from each level, leaf first. A level that holds too little (or does not exist) gives back
     * what the levels before it gave, so a refused free changes nothing; {@code describe} names the level for the
     * message, and runs only then.
     */
    private static void release(long bytes, IntFunction<String> describe, AtomicLong... levels)
    {
        for (int level = 0; level < levels.length; level++) {
            AtomicLong cell = levels[level];
            if (cell == null || !decrementIfEnough(cell, bytes)) {
                long old = cell == null ? 0 : cell.get();
                for (int undo = level - 1; undo >= 0; undo--) {
                    levels[undo].addAndGet(bytes);
                }
                throw new IllegalArgumentException(String.format("New counter value is negative: %s, old value: %s, new delta: %s (%s)",
                        old - bytes, old, -bytes, describe.apply(level)));
            }
        }
    }

    @Override
    public long queryReservedBytes(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        return query == null ? 0 : query.user.get();
    }

    @Override
    public long queryRevocableBytes(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        return query == null ? 0 : query.revocable.get();
    }

    /** User bytes the task holds; zero when unknown. */
    public long taskReservedBytes(TaskId taskId)
    {
        QueryCells query = queries.get(taskId.queryId());
        if (query == null) {
            return 0;
        }
        AtomicLong task = query.tasks.get(taskId);
        return task == null ? 0 : task.get();
    }

    @Override
    public void forgetQuery(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        if (query != null && query.isEmpty()) {
            queries.remove(queryId, query);
        }
    }

    @Override
    public void addListener(MemoryPoolListener listener)
    {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    @Override
    public MemoryPoolInfo info()
    {
        Map<QueryId, Long> queryReservations = new HashMap<>();
        Map<QueryId, List<MemoryAllocation>> queryAllocations = new HashMap<>();
        Map<QueryId, Long> queryRevocable = new HashMap<>();
        Map<TaskId, Long> taskReservations = new HashMap<>();
        Map<TaskId, Long> taskRevocable = new HashMap<>();
        for (Map.Entry<QueryId, QueryCells> entry : queries.entrySet()) {
            QueryCells query = entry.getValue();
            putIfPositive(queryReservations, entry.getKey(), query.user.get());
            putIfPositive(queryRevocable, entry.getKey(), query.revocable.get());
            query.tasks.forEach((task, bytes) -> putIfPositive(taskReservations, task, bytes.get()));
            query.revocableTasks.forEach((task, bytes) -> putIfPositive(taskRevocable, task, bytes.get()));
            List<MemoryAllocation> allocations = new ArrayList<>();
            query.tags.forEach((tag, bytes) -> {
                long value = bytes.get();
                if (value > 0) {
                    allocations.add(new MemoryAllocation(tag, value));
                }
            });
            if (!allocations.isEmpty()) {
                allocations.sort(Comparator.comparingLong(MemoryAllocation::allocationBytes).reversed());
                queryAllocations.put(entry.getKey(), allocations);
            }
        }
        return new MemoryPoolInfo(id, maxBytes, Math.max(0, reservedBytes.get()), Math.max(0, reservedRevocableBytes.get()),
                queryReservations, queryAllocations, queryRevocable, taskReservations, taskRevocable);
    }

    private QueryCells cells(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        return query != null ? query : queries.computeIfAbsent(queryId, ignored -> new QueryCells());
    }

    private MemoryFuture blockedFuture()
    {
        MemoryFuture blocked;
        synchronized (futureLock) {
            blocked = future;
            if (blocked == null) {
                blocked = MemoryFuture.pending();
                future = blocked;
            }
        }
        // a free that ran before the future was published could not see it: check again now that it is published
        if (freeBytes() > 0) {
            signalIfFree();
        }
        return blocked;
    }

    private void signalIfFree()
    {
        if (future == null) {
            return;
        }
        MemoryFuture toSignal;
        synchronized (futureLock) {
            toSignal = future;
            if (toSignal == null || freeBytes() <= 0) {
                return;
            }
            future = null;
        }
        // outside the lock: the future's callbacks may reserve again
        toSignal.signal();
    }

    private void notifyListeners()
    {
        for (MemoryPoolListener listener : listeners) {
            try {
                listener.onMemoryReserved(this);
            }
            catch (RuntimeException e) {
                log.warn("Memory pool listener {} failed", listener, e);
            }
        }
    }

    private static boolean decrementIfEnough(AtomicLong counter, long bytes)
    {
        while (true) {
            long old = counter.get();
            if (old < bytes) {
                return false;
            }
            if (counter.compareAndSet(old, old - bytes)) {
                return true;
            }
        }
    }

    private static <K> void putIfPositive(Map<K, Long> map, K key, long value)
    {
        if (value > 0) {
            map.put(key, value);
        }
    }

    private static void checkNonNegative(long value, String name)
    {
        if (value < 0) {
            throw new IllegalArgumentException(String.format("'%s' is negative: %s", name, value));
        }
    }

    @Override
    public String toString()
    {
        return "FixedMemoryPool{id=" + id + ", max=" + maxBytes + ", reserved=" + reservedBytes.get() + ", revocable=" + reservedRevocableBytes.get() + "}";
    }

    private static final class QueryCells
    {
        final AtomicLong user = new AtomicLong();
        final AtomicLong revocable = new AtomicLong();
        final ConcurrentHashMap<TaskId, AtomicLong> tasks = new ConcurrentHashMap<>();
        final ConcurrentHashMap<TaskId, AtomicLong> revocableTasks = new ConcurrentHashMap<>();
        final ConcurrentHashMap<String, AtomicLong> tags = new ConcurrentHashMap<>();

        AtomicLong task(TaskId taskId)
        {
            AtomicLong cell = tasks.get(taskId);
            return cell != null ? cell : tasks.computeIfAbsent(taskId, ignored -> new AtomicLong());
        }

        AtomicLong revocableTask(TaskId taskId)
        {
            AtomicLong cell = revocableTasks.get(taskId);
            return cell != null ? cell : revocableTasks.computeIfAbsent(taskId, ignored -> new AtomicLong());
        }

        AtomicLong tag(String tag)
        {
            AtomicLong cell = tags.get(tag);
            return cell != null ? cell : tags.computeIfAbsent(tag, ignored -> new AtomicLong());
        }

        boolean isEmpty()
        {
            return user.get() == 0 && revocable.get() == 0;
        }
    }
}
