package io.memgov.integration;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumer;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.Objects.requireNonNull;

/**
 * {@code SELECT key, sum(value), count(*) GROUP BY key} over (key, value) rows, holding its groups as revocable
 * memory. When the engine's revoking scheduler asks, the operator's own thread writes the groups, sorted by key, to a
 * spill file as one run and gives the memory back; at the end it merges the runs with what is still in memory. While
 * the pool is full it waits, spilling as soon as it is asked.
 */
final class SpillingHashAggregation
        implements RevocableConsumer, AutoCloseable
{
    /** What one group is accounted at: the key, two longs and the map entry around them. */
    static final long GROUP_BYTES = 64;

    private static final int GROUP_WIRE_BYTES = 3 * Long.BYTES;
    private static final int GROUPS_PER_BLOCK = 512;

    record Group(long key, long sum, long count) {}

    private final OperatorMemoryContext operator;
    private final SpillFileManager spillFiles;
    private final TaskId taskId;
    private final Map<Long, long[]> groups = new HashMap<>();
    private final List<SpillFile> runs = new ArrayList<>();
    private final AtomicReference<CompletableFuture<Void>> revokeRequested = new AtomicReference<>();

    SpillingHashAggregation(OperatorMemoryContext operator, SpillFileManager spillFiles)
    {
        this.operator = requireNonNull(operator, "operator is null");
        this.spillFiles = requireNonNull(spillFiles, "spillFiles is null");
        this.taskId = operator.task().taskId();
        operator.setRevocableConsumer(this);
    }

    // called on the scheduler's thread: only note the request; the operator's thread spills
    @Override
    public CompletableFuture<?> startMemoryRevoke()
    {
        CompletableFuture<Void> future = new CompletableFuture<>();
        revokeRequested.set(future);
        return future;
    }

    void addRow(long key, long value)
    {
        spillIfAsked();
        long[] group = groups.computeIfAbsent(key, ignored -> new long[2]);
        group[0] += value;
        group[1]++;
        MemoryFuture blocked = operator.revocableMemory().setBytes(groups.size() * GROUP_BYTES);
        while (!blocked.isDone()) {
            if (spillIfAsked()) {
                return;
            }
            try {
                blocked.get(10, TimeUnit.MILLISECONDS);
            }
            catch (TimeoutException e) {
                // still full: look for a revoke request again
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for memory", e);
            }
            catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    /** Every group, by key; merges the spilled runs with the groups still in memory. */
    SortedMap<Long, Group> finish()
    {
        spillIfAsked();
        PriorityQueue<Cursor> heads = new PriorityQueue<>(Comparator.comparingLong((Cursor cursor) -> cursor.current.key()));
        for (SpillFile run : runs) {
            Cursor cursor = new Cursor(run.newReader());
            if (cursor.advance()) {
                heads.add(cursor);
            }
        }
        SortedMap<Long, Group> result = new TreeMap<>();
        groups.forEach((key, group) -> result.put(key, new Group(key, group[0], group[1])));
        while (!heads.isEmpty()) {
            Cursor head = heads.poll();
            Group group = head.current;
            result.merge(group.key(), group, (a, b) -> new Group(a.key(), a.sum() + b.sum(), a.count() + b.count()));
            if (head.advance()) {
                heads.add(head);
            }
        }
        return result;
    }

    List<SpillFile> runs()
    {
        return List.copyOf(runs);
    }

    private boolean spillIfAsked()
    {
        CompletableFuture<Void> request = revokeRequested.getAndSet(null);
        if (request == null) {
            return false;
        }
        try {
            spill();
        }
        catch (RuntimeException e) {
            // the scheduler fails the query with this failure; the operator stops too
            request.completeExceptionally(e);
            throw e;
        }
        request.complete(null);
        return true;
    }

    private void spill()
    {
        if (groups.isEmpty()) {
            return;
        }
        SpillFile run = spillFiles.create(taskId, operator.tag());
        runs.add(run);
        List<Long> keys = new ArrayList<>(groups.keySet());
        keys.sort(null);
        try (SpillFileWriter writer = run.newWriter()) {
            ByteBuffer block = ByteBuffer.allocate(GROUPS_PER_BLOCK * GROUP_WIRE_BYTES);
            for (long key : keys) {
                long[] group = groups.get(key);
                block.putLong(key).putLong(group[0]).putLong(group[1]);
                if (!block.hasRemaining()) {
                    writer.write(block.array(), 0, block.position());
                    block.clear();
                }
            }
            if (block.position() > 0) {
                writer.write(block.array(), 0, block.position());
            }
        }
        groups.clear();
        operator.revocableMemory().setBytes(0);
    }

    /** Deletes the runs and releases the operator's memory. */
    @Override
    public void close()
    {
        runs.forEach(SpillFile::close);
        runs.clear();
        groups.clear();
        operator.close();
    }

    private static final class Cursor
    {
        private final SpillFileReader reader;
        private ByteBuffer block = ByteBuffer.allocate(0);
        private Group current;

        Cursor(SpillFileReader reader)
        {
            this.reader = reader;
        }

        boolean advance()
        {
            while (!block.hasRemaining()) {
                if (!reader.hasNext()) {
                    reader.close();
                    return false;
                }
                block = ByteBuffer.wrap(reader.next());
            }
            current = new Group(block.getLong(), block.getLong(), block.getLong());
            return true;
        }
    }
}
