package io.memgov.plugin.reservemode;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.util.Objects.requireNonNull;

/**
 * A small, correct stand-in for the engine's standard pool: Trino semantics under one lock (fine in test code).
 */
final class TestMemoryPool
        implements MemoryPool
{
    private final String id;
    private final List<MemoryPoolListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<TaskId, Map<String, Long>> user = new HashMap<>();
    private final Map<TaskId, Long> revocable = new HashMap<>();
    private long maxBytes;
    private long reservedBytes;
    private long revocableBytes;
    private MemoryFuture future = MemoryFuture.NOT_BLOCKED;

    TestMemoryPool(String id, long maxBytes)
    {
        this.id = requireNonNull(id, "id is null");
        this.maxBytes = maxBytes;
    }

    @Override
    public String id()
    {
        return id;
    }

    @Override
    public synchronized long maxBytes()
    {
        return maxBytes;
    }

    @Override
    public void setMaxBytes(long maxBytes)
    {
        synchronized (this) {
            this.maxBytes = maxBytes;
        }
        changed();
    }

    @Override
    public synchronized long reservedBytes()
    {
        return reservedBytes;
    }

    @Override
    public synchronized long reservedRevocableBytes()
    {
        return revocableBytes;
    }

    @Override
    public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
    {
        check(bytes);
        MemoryFuture result;
        synchronized (this) {
            user.computeIfAbsent(taskId, ignored -> new HashMap<>()).merge(tag, bytes, Long::sum);
            reservedBytes += bytes;
            result = blockedFuture();
        }
        changed();
        return result;
    }

    @Override
    public boolean tryReserve(TaskId taskId, String tag, long bytes)
    {
        check(bytes);
        synchronized (this) {
            if (maxBytes - reservedBytes - revocableBytes - bytes < 0) {
                return false;
            }
            user.computeIfAbsent(taskId, ignored -> new HashMap<>()).merge(tag, bytes, Long::sum);
            reservedBytes += bytes;
        }
        changed();
        return true;
    }

    @Override
    public void free(TaskId taskId, String tag, long bytes)
    {
        check(bytes);
        synchronized (this) {
            Map<String, Long> tags = user.getOrDefault(taskId, Map.of());
            long held = tags.getOrDefault(tag, 0L);
            if (held < bytes) {
                throw new IllegalArgumentException("task " + taskId + " holds " + held + " bytes under " + tag + ", cannot free " + bytes);
            }
            if (held == bytes) {
                tags.remove(tag);
                if (tags.isEmpty()) {
                    user.remove(taskId);
                }
            }
            else {
                tags.put(tag, held - bytes);
            }
            reservedBytes -= bytes;
        }
        changed();
    }

    @Override
    public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
    {
        check(bytes);
        MemoryFuture result;
        synchronized (this) {
            revocable.merge(taskId, bytes, Long::sum);
            revocableBytes += bytes;
            result = blockedFuture();
        }
        changed();
        return result;
    }

    @Override
    public void freeRevocable(TaskId taskId, long bytes)
    {
        check(bytes);
        synchronized (this) {
            long held = revocable.getOrDefault(taskId, 0L);
            if (held < bytes) {
                throw new IllegalArgumentException("task " + taskId + " holds " + held + " revocable bytes, cannot free " + bytes);
            }
            if (held == bytes) {
                revocable.remove(taskId);
            }
            else {
                revocable.put(taskId, held - bytes);
            }
            revocableBytes -= bytes;
        }
        changed();
    }

    @Override
    public synchronized long queryReservedBytes(QueryId queryId)
    {
        return user.entrySet().stream()
                .filter(entry -> entry.getKey().queryId().equals(queryId))
                .flatMap(entry -> entry.getValue().values().stream())
                .mapToLong(Long::longValue)
                .sum();
    }

    @Override
    public synchronized long queryRevocableBytes(QueryId queryId)
    {
        return revocable.entrySet().stream()
                .filter(entry -> entry.getKey().queryId().equals(queryId))
                .mapToLong(Map.Entry::getValue)
                .sum();
    }

    @Override
    public void addListener(MemoryPoolListener listener)
    {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    @Override
    public synchronized MemoryPoolInfo info()
    {
        Map<QueryId, Long> queries = new HashMap<>();
        Map<QueryId, Map<String, Long>> tags = new HashMap<>();
        Map<TaskId, Long> tasks = new HashMap<>();
        user.forEach((task, byTag) -> byTag.forEach((tag, bytes) -> {
            queries.merge(task.queryId(), bytes, Long::sum);
            tags.computeIfAbsent(task.queryId(), ignored -> new HashMap<>()).merge(tag, bytes, Long::sum);
            tasks.merge(task, bytes, Long::sum);
        }));
        Map<QueryId, List<MemoryAllocation>> allocations = new HashMap<>();
        tags.forEach((query, byTag) -> {
            List<MemoryAllocation> list = new ArrayList<>();
            byTag.forEach((tag, bytes) -> list.add(new MemoryAllocation(tag, bytes)));
            list.sort((a, b) -> Long.compare(b.allocationBytes(), a.allocationBytes()));
            allocations.put(query, list);
        });
        Map<QueryId, Long> revocableQueries = new HashMap<>();
        revocable.forEach((task, bytes) -> revocableQueries.merge(task.queryId(), bytes, Long::sum));
        return new MemoryPoolInfo(id, maxBytes, reservedBytes, revocableBytes, queries, allocations, revocableQueries, tasks, Map.copyOf(revocable));
    }

    /** What the query holds, per task and tag, so that a failed query can be released as the engine would. */
    synchronized Map<TaskId, Map<String, Long>> userHoldings(QueryId queryId)
    {
        Map<TaskId, Map<String, Long>> holdings = new HashMap<>();
        user.forEach((task, byTag) -> {
            if (task.queryId().equals(queryId)) {
                holdings.put(task, Map.copyOf(byTag));
            }
        });
        return holdings;
    }

    synchronized Map<TaskId, Long> revocableHoldings(QueryId queryId)
    {
        Map<TaskId, Long> holdings = new HashMap<>();
        revocable.forEach((task, bytes) -> {
            if (task.queryId().equals(queryId)) {
                holdings.put(task, bytes);
            }
        });
        return holdings;
    }

    private MemoryFuture blockedFuture()
    {
        if (maxBytes - reservedBytes - revocableBytes > 0) {
            return MemoryFuture.NOT_BLOCKED;
        }
        if (future.isDone()) {
            future = MemoryFuture.pending();
        }
        return future;
    }

    private void changed()
    {
        MemoryFuture toSignal = null;
        synchronized (this) {
            if (maxBytes - reservedBytes - revocableBytes > 0 && !future.isDone()) {
                toSignal = future;
            }
        }
        if (toSignal != null) {
            toSignal.signal();
        }
        listeners.forEach(listener -> listener.onMemoryReserved(this));
    }

    private static void check(long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
    }
}
