package io.memgov.lab;

import io.memgov.arrow.ArrowOperatorMemory;
import io.memgov.arrow.RevocationRequestedException;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.spill.RevocableConsumer;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.TransferPair;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

import static java.util.Objects.requireNonNull;

/**
 * {@link HashAggregation}'s query ({@code SELECT key, sum(value) GROUP BY key} over the same generated rows, so the
 * same expected answer) with its state off-heap in Arrow vectors, governed by memgov through adapter-arrow: the
 * operator never reports a byte count, its allocators reserve before Arrow allocates.
 *
 * <p>The groups are an open-addressing table in two {@link BigIntVector}s (a free slot is a null key). When
 * {@code revocable}, the table's allocator reserves revocable memory; when memgov asks for it back, the operator
 * compacts and sorts the table in place (no new memory: the pool is full) and writes it as one sorted run, an Arrow IPC
 * stream of {@value #BATCH_ROWS}-row batches, to a spill file, through a batch it allocated when it started. An
 * allocation that waits for the full pool while memgov asks for memory back ends with
 * {@link RevocationRequestedException}: the operator spills and tries again. At the end of the input it keeps the
 * table as user memory (moving its buffers to a user allocator) if the query's limit has room, else spills it, and
 * merges the runs by key, reading them back with Arrow's IPC reader into user memory.
 */
final class ArrowHashAggregation
{
    static final String TAG = "ArrowHashAggregation";
    static final int BATCH_ROWS = 4096;
    private static final Schema RUN_SCHEMA = new Schema(List.of(
            Field.notNullable("key", new ArrowType.Int(64, true)),
            Field.notNullable("sum", new ArrowType.Int(64, true))));

    private final long seed;
    private final int rows;
    private final int distinctKeys;
    private final ArrowOperatorMemory arrow;
    private final OperatorMemoryContext memory;
    private final boolean revocable;
    private final OperatorDriver driver;
    private final SpillFileManager spillFiles;
    private final RevokeRequests revokes;
    private final List<SpillFile> runs = new ArrayList<>();
    private long spilledBytes;
    private int runsWritten;
    // user memory: the run batch, the merge's readers, the table once the input is complete
    private BufferAllocator work;
    private GroupTable table;
    private VectorSchemaRoot runBatch;

    /**
     * @param arrow the operator's Arrow memory; the operator closes it (its allocators, then its memgov context)
     * @param spillFiles where runs go when memory is revoked; required when {@code revocable}
     */
    ArrowHashAggregation(long seed, int rows, int distinctKeys, ArrowOperatorMemory arrow, boolean revocable, OperatorDriver driver,
            SpillFileManager spillFiles)
    {
        if (distinctKeys <= 0) {
            throw new IllegalArgumentException("distinctKeys must be positive: " + distinctKeys);
        }
        this.seed = seed;
        this.rows = rows;
        this.distinctKeys = distinctKeys;
        this.arrow = requireNonNull(arrow, "arrow is null");
        this.memory = arrow.operator();
        this.revocable = revocable;
        this.driver = requireNonNull(driver, "driver is null");
        this.spillFiles = spillFiles;
        if (revocable) {
            requireNonNull(spillFiles, "spillFiles is null for a revocable Arrow aggregation");
        }
        this.revokes = new RevokeRequests(revocable, this::spill);
    }

    /** What the operator registers with {@code OperatorMemoryContext.setRevocableConsumer}. */
    RevocableConsumer revocableConsumer()
    {
        return revokes;
    }

    long spilledBytes()
    {
        return spilledBytes;
    }

    int runsWritten()
    {
        return runsWritten;
    }

    /** Aggregates the input and returns the checksum of the groups. Closes its Arrow memory and spill files before returning. */
    long run()
    {
        try {
            work = arrow.newAllocator("work");
            table = new GroupTable(arrow.newAllocator("groups", revocable ? OperatorMemoryContext::revocableMemory : OperatorMemoryContext::userMemory));
            if (revocable) {
                // allocated now, so that a spill, which happens when the pool is full, allocates nothing
                runBatch = withRevokes(() -> {
                    VectorSchemaRoot batch = VectorSchemaRoot.create(RUN_SCHEMA, work);
                    try {
                        ((BigIntVector) batch.getVector(0)).allocateNew(BATCH_ROWS);
                        ((BigIntVector) batch.getVector(1)).allocateNew(BATCH_ROWS);
                    }
                    catch (RuntimeException | Error e) {
                        // an Error too: the JVM's own OutOfMemoryError from the memory behind Arrow (e.g. direct memory)
                        batch.close();
                        throw e;
                    }
                    return batch;
                });
            }
            readInput();
            finishInput();
            return runs.isEmpty() ? checksumInMemory() : merge();
        }
        catch (OutOfMemoryException e) {
            // an allocation the full pool did not grant in time (or Arrow's own limit): the query fails, cleanly
            throw new MemoryGovernanceException(ErrorCode.GENERIC_MEMORY_ERROR, "Arrow aggregation of task " + memory.task().taskId() + " failed: " + e.getMessage(), e);
        }
        finally {
            close();
        }
    }

    private void readInput()
    {
        SplittableRandom random = new SplittableRandom(seed);
        int row = 0;
        while (row < rows) {
            int batch = Math.min(BATCH_ROWS, rows - row);
            makeRoom(batch);
            for (int end = row + batch; row < end; row++) {
                table.add(random.nextInt(distinctKeys), random.nextInt(1000));
            }
        }
        revokes.serve();
    }

    // room for `newGroups` more groups: Arrow reserves the new vectors before it allocates them, the old ones still held
    private void makeRoom(int newGroups)
    {
        while (true) {
            revokes.serve();
            driver.checkNotKilled();
            int needed = GroupTable.capacityFor(Math.min((long) table.size() + newGroups, distinctKeys));
            if (needed <= table.capacity()) {
                return;
            }
            try {
                table.resize(needed);
                return;
            }
            catch (RevocationRequestedException e) {
                // memgov wants memory back while the pool is full: spill (at the top of the loop) and work it out again
                awaitRevokeRequest();
            }
        }
    }

    /** Runs {@code allocation}, spilling and retrying when memgov asks for memory back while it waits. */
    private <T> T withRevokes(ArrowAllocation<T> allocation)
    {
        while (true) {
            revokes.serve();
            driver.checkNotKilled();
            try {
                return allocation.allocate();
            }
            catch (RevocationRequestedException e) {
                awaitRevokeRequest();
            }
        }
    }

    // the engine marks the operator asked, then calls its consumer on the requesting thread: the request reaches
    // RevokeRequests a moment after the allocation saw the mark
    private void awaitRevokeRequest()
    {
        while (memory.isMemoryRevokingRequested() && !revokes.isRequested()) {
            Thread.onSpinWait();
        }
    }

    private void finishInput()
    {
        revokes.stopAccepting();
        if (!revocable || table.size() == 0) {
            return;
        }
        if (!runs.isEmpty()) {
            spill();
            return;
        }
        // no more revokes: what is still held is user memory, if the query's limit has room for it, else it is spilled
        QueryMemoryContext query = memory.task().query();
        if (query.userBytes() + table.allocatedBytes() <= query.maxUserBytes()) {
            table.moveTo(work);
            // Arrow's transfer told no listener: carry it to memgov now
            arrow.reconcile();
        }
        else {
            spill();
        }
    }

    /**
     * Writes the table's groups, sorted by key, as one run and frees the table. Allocates nothing: it sorts in place
     * and writes through the batch allocated at the start.
     */
    private void spill()
    {
        if (table.size() == 0) {
            table.release();
            return;
        }
        driver.checkNotKilled();
        int groups = table.compactAndSort();
        SpillFile file = spillFiles.create(memory.task().taskId(), TAG);
        runs.add(file);
        BigIntVector keys = (BigIntVector) runBatch.getVector(0);
        BigIntVector sums = (BigIntVector) runBatch.getVector(1);
        try (ArrowStreamWriter writer = new ArrowStreamWriter(runBatch, null, SpillFileStreams.output(file.newWriter()))) {
            writer.start();
            for (int start = 0; start < groups; start += BATCH_ROWS) {
                int count = Math.min(BATCH_ROWS, groups - start);
                for (int i = 0; i < count; i++) {
                    keys.set(i, table.keyAt(start + i));
                    sums.set(i, table.sumAt(start + i));
                }
                runBatch.setRowCount(count);
                writer.writeBatch();
            }
            writer.end();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write spill file " + file.path(), e);
        }
        spilledBytes += file.sizeBytes();
        runsWritten++;
        table.release();
    }

    private long checksumInMemory()
    {
        driver.checkNotKilled();
        return table.checksum();
    }

    // a k-way merge of the runs by key; a key's partial sums from several runs are added up before it is output
    private long merge()
    {
        List<RunCursor> cursors = new ArrayList<>();
        try {
            PriorityQueue<RunCursor> queue = new PriorityQueue<>(runs.size(), Comparator.comparingLong(RunCursor::key));
            for (SpillFile run : runs) {
                RunCursor cursor = new RunCursor(run, work);
                cursors.add(cursor);
                if (cursor.advance()) {
                    queue.add(cursor);
                }
            }
            long checksum = 0;
            long merged = 0;
            while (!queue.isEmpty()) {
                RunCursor head = queue.poll();
                long key = head.key();
                long sum = head.sum();
                if (head.advance()) {
                    queue.add(head);
                }
                while (!queue.isEmpty() && queue.peek().key() == key) {
                    RunCursor same = queue.poll();
                    sum += same.sum();
                    if (same.advance()) {
                        queue.add(same);
                    }
                }
                checksum += HashAggregation.mix(key, sum);
                if (++merged % BATCH_ROWS == 0) {
                    driver.checkNotKilled();
                }
            }
            driver.checkNotKilled();
            return checksum;
        }
        finally {
            cursors.forEach(RunCursor::close);
        }
    }

    private void close()
    {
        revokes.cancel();
        try {
            if (table != null) {
                table.release();
            }
            if (runBatch != null) {
                runBatch.close();
            }
            runs.forEach(SpillFile::close);
            runs.clear();
        }
        finally {
            // the operator's allocators (a buffer still held is reported as a leak), then its memgov context
            arrow.close();
        }
    }

    private interface ArrowAllocation<T>
    {
        T allocate();
    }

    /**
     * The groups: open addressing with linear probing over two {@link BigIntVector}s, keys and sums, at most half full;
     * a null key is a free slot. It grows only when told to ({@link #resize}).
     */
    static final class GroupTable
    {
        private static final int MIN_CAPACITY = 1024;

        private BufferAllocator allocator;
        private BigIntVector keys;
        private BigIntVector sums;
        private int capacity;
        private int size;

        GroupTable(BufferAllocator allocator)
        {
            this.allocator = requireNonNull(allocator, "allocator is null");
        }

        /** The capacity that holds {@code groups} groups at most half full: a power of two. */
        static int capacityFor(long groups)
        {
            return HashAggregation.GroupTable.capacityFor(groups);
        }

        int capacity()
        {
            return capacity;
        }

        int size()
        {
            return size;
        }

        /** What Arrow holds for the table now. */
        long allocatedBytes()
        {
            return allocator.getAllocatedMemory();
        }

        void add(long key, long value)
        {
            int slot = slot(key);
            if (keys.isNull(slot)) {
                if (2L * (size + 1) > capacity) {
                    throw new IllegalStateException("no room for group " + key + ": " + size + " groups in " + capacity + " slots");
                }
                keys.set(slot, key);
                sums.set(slot, value);
                size++;
            }
            else {
                sums.set(slot, sums.get(slot) + value);
            }
        }

        /**
         * Moves the groups to new vectors of {@code capacity} slots. The new vectors are allocated first: if Arrow,
         * memgov or the JVM refuses them, the table is unchanged and nothing new is held.
         */
        void resize(int newCapacity)
        {
            BigIntVector newKeys = new BigIntVector("key", allocator);
            BigIntVector newSums = new BigIntVector("sum", allocator);
            try {
                newKeys.allocateNew(newCapacity);
                newSums.allocateNew(newCapacity);
            }
            catch (RuntimeException | Error e) {
                // an Error too: the memory behind Arrow may run out before memgov's pool does (the JVM's
                // -XX:MaxDirectMemorySize), and the keys allocated before the sums must not be left behind
                newKeys.close();
                newSums.close();
                throw e;
            }
            BigIntVector oldKeys = keys;
            BigIntVector oldSums = sums;
            int oldCapacity = capacity;
            keys = newKeys;
            sums = newSums;
            capacity = newCapacity;
            for (int slot = 0; slot < oldCapacity; slot++) {
                if (!oldKeys.isNull(slot)) {
                    int target = slot(oldKeys.get(slot));
                    keys.set(target, oldKeys.get(slot));
                    sums.set(target, oldSums.get(slot));
                }
            }
            if (oldKeys != null) {
                oldKeys.close();
                oldSums.close();
            }
        }

        /**
         * Moves the groups to the first {@link #size()} slots, sorted by key, in place (no probing works afterwards:
         * the table is only read by {@link #keyAt} and {@link #sumAt}, then released). Returns the number of groups.
         */
        int compactAndSort()
        {
            int write = 0;
            for (int slot = 0; slot < capacity; slot++) {
                if (!keys.isNull(slot)) {
                    if (slot != write) {
                        keys.set(write, keys.get(slot));
                        sums.set(write, sums.get(slot));
                        keys.setNull(slot);
                    }
                    write++;
                }
            }
            heapSort(size);
            return size;
        }

        long keyAt(int index)
        {
            return keys.get(index);
        }

        long sumAt(int index)
        {
            return sums.get(index);
        }

        long checksum()
        {
            long checksum = 0;
            for (int slot = 0; slot < capacity; slot++) {
                if (!keys.isNull(slot)) {
                    checksum += HashAggregation.mix(keys.get(slot), sums.get(slot));
                }
            }
            return checksum;
        }

        /** Moves the vectors' buffers to {@code target} with Arrow's transfer (no copy); the table then allocates there. */
        void moveTo(BufferAllocator target)
        {
            TransferPair keysTransfer = keys.getTransferPair(target);
            TransferPair sumsTransfer = sums.getTransferPair(target);
            keysTransfer.transfer();
            sumsTransfer.transfer();
            keys.close();
            sums.close();
            keys = (BigIntVector) keysTransfer.getTo();
            sums = (BigIntVector) sumsTransfer.getTo();
            allocator = target;
        }

        /** Drops every group and frees the vectors. */
        void release()
        {
            if (keys != null) {
                keys.close();
                sums.close();
            }
            keys = null;
            sums = null;
            capacity = 0;
            size = 0;
        }

        // the key's slot, or the free slot where it goes
        private int slot(long key)
        {
            int mask = capacity - 1;
            long hash = key * 0x9E3779B97F4A7C15L;
            int slot = (int) (hash ^ (hash >>> 32)) & mask;
            while (!keys.isNull(slot) && keys.get(slot) != key) {
                slot = (slot + 1) & mask;
            }
            return slot;
        }

        // in place over the first `count` slots, by key, moving each key's sum with it
        private void heapSort(int count)
        {
            for (int start = count / 2 - 1; start >= 0; start--) {
                siftDown(start, count);
            }
            for (int end = count - 1; end > 0; end--) {
                swap(0, end);
                siftDown(0, end);
            }
        }

        private void siftDown(int root, int end)
        {
            while (true) {
                int child = 2 * root + 1;
                if (child >= end) {
                    return;
                }
                if (child + 1 < end && keys.get(child + 1) > keys.get(child)) {
                    child++;
                }
                if (keys.get(root) >= keys.get(child)) {
                    return;
                }
                swap(root, child);
                root = child;
            }
        }

        private void swap(int i, int j)
        {
            long key = keys.get(i);
            long sum = sums.get(i);
            keys.set(i, keys.get(j));
            sums.set(i, sums.get(j));
            keys.set(j, key);
            sums.set(j, sum);
        }
    }

    /** One run read back batch by batch by Arrow's IPC reader, into the operator's user memory. */
    private static final class RunCursor
    {
        private final ArrowStreamReader reader;
        private VectorSchemaRoot batch;
        private int index;
        private int count;
        private long key;
        private long sum;

        RunCursor(SpillFile run, BufferAllocator allocator)
        {
            this.reader = new ArrowStreamReader(SpillFileStreams.input(run.newReader()), allocator);
        }

        long key()
        {
            return key;
        }

        long sum()
        {
            return sum;
        }

        boolean advance()
        {
            try {
                while (index >= count) {
                    if (!reader.loadNextBatch()) {
                        return false;
                    }
                    batch = reader.getVectorSchemaRoot();
                    count = batch.getRowCount();
                    index = 0;
                }
            }
            catch (IOException e) {
                throw new UncheckedIOException("Cannot read a spilled run", e);
            }
            key = ((BigIntVector) batch.getVector(0)).get(index);
            sum = ((BigIntVector) batch.getVector(1)).get(index);
            index++;
            return true;
        }

        void close()
        {
            try {
                reader.close();
            }
            catch (IOException e) {
                throw new UncheckedIOException("Cannot close a spilled run", e);
            }
        }
    }
}
