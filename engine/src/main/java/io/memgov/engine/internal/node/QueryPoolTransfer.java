package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * Moves one query's reservations from one pool to another through the SPI's plain reserve and free calls, so it works
 * for any {@link MemoryPool}. The caller guarantees that the query makes no reservation meanwhile.
 */
final class QueryPoolTransfer
{
    private QueryPoolTransfer() {}

    /**
     * Moves every user and revocable byte of the query from {@code source} to {@code target}, keeping each task's and
     * each tag's totals. On failure everything moved so far is moved back and the failure is rethrown.
     *
     * @return the future of the last reservation in {@code target}: done unless {@code target} is now full
     * @throws IllegalStateException if the source's per-task, per-tag and per-query totals disagree; nothing moved
     */
    static MemoryFuture transfer(QueryId queryId, MemoryPool source, MemoryPool target)
    {
        MemoryPoolInfo info = source.info();
        List<Map.Entry<TaskId, Long>> taskBytes = ofQuery(queryId, info.taskMemoryReservations());
        List<Map.Entry<TaskId, Long>> taskRevocableBytes = ofQuery(queryId, info.taskRevocableMemoryReservations());
        List<MemoryAllocation> tags = info.queryMemoryAllocations().getOrDefault(queryId, List.of());
        long user = info.queryReservedBytes(queryId);
        long byTask = taskBytes.stream().mapToLong(Map.Entry::getValue).sum();
        long byTag = tags.stream().mapToLong(MemoryAllocation::allocationBytes).sum();
        long revocable = info.queryRevocableBytes(queryId);
        long revocableByTask = taskRevocableBytes.stream().mapToLong(Map.Entry::getValue).sum();
        if (byTask != user || byTag != user || revocableByTask != revocable) {
            throw new IllegalStateException(String.format(
                    "cannot move query %s from pool '%s' to pool '%s': its reservations disagree (query %s, by task %s, by tag %s, revocable %s, revocable by task %s)",
                    queryId, source.id(), target.id(), user, byTask, byTag, revocable, revocableByTask));
        }

        Deque<Runnable> undo = new ArrayDeque<>();
        MemoryFuture last = MemoryFuture.NOT_BLOCKED;
        try {
            // the pools keep per-task and per-tag totals, never their product: pairing the two lists in order
            // (north-west corner) gives every task and every tag its exact total in the target
            int tagIndex = 0;
            long tagLeft = tags.isEmpty() ? 0 : tags.get(0).allocationBytes();
            for (Map.Entry<TaskId, Long> task : taskBytes) {
                long taskLeft = task.getValue();
                while (taskLeft > 0) {
                    while (tagLeft == 0) {
                        tagIndex++;
                        tagLeft = tags.get(tagIndex).allocationBytes();
                    }
                    long bytes = Math.min(taskLeft, tagLeft);
                    TaskId taskId = task.getKey();
                    String tag = tags.get(tagIndex).tag();
                    last = target.reserve(taskId, tag, bytes);
                    undo.push(() -> target.free(taskId, tag, bytes));
                    source.free(taskId, tag, bytes);
                    undo.push(() -> source.reserve(taskId, tag, bytes));
                    taskLeft -= bytes;
                    tagLeft -= bytes;
                }
            }
            for (Map.Entry<TaskId, Long> task : taskRevocableBytes) {
                TaskId taskId = task.getKey();
                long bytes = task.getValue();
                last = target.reserveRevocable(taskId, bytes);
                undo.push(() -> target.freeRevocable(taskId, bytes));
                source.freeRevocable(taskId, bytes);
                undo.push(() -> source.reserveRevocable(taskId, bytes));
            }
        }
        catch (RuntimeException e) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                }
                catch (RuntimeException undoFailure) {
                    e.addSuppressed(undoFailure);
                }
            }
            throw e;
        }
        return last;
    }

    private static List<Map.Entry<TaskId, Long>> ofQuery(QueryId queryId, Map<TaskId, Long> reservations)
    {
        List<Map.Entry<TaskId, Long>> entries = new ArrayList<>();
        reservations.forEach((task, bytes) -> {
            if (task.queryId().equals(queryId)) {
                entries.add(Map.entry(task, bytes));
            }
        });
        // a stable order, so that the same reservations always move the same way
        entries.sort(Comparator.comparing(entry -> entry.getKey().toString()));
        return entries;
    }
}
