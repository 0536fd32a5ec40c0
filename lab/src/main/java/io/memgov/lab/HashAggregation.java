package io.memgov.lab;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * A real hash aggregation: {@code SELECT key, sum(value) GROUP BY key} over generated rows, holding a real hash
 * table on the heap ({@link GroupTable}: two primitive arrays, so its retained size is known exactly) and reserving
 * through memgov before it grows: before each batch of rows, room for as many new groups as the batch has rows, and
 * for a rehash the old and the new arrays together. When memgov says the pool is full it stops and waits, as an
 * operator whose driver is blocked would.
 *
 * <p>When {@code revocable}, the table is held as revocable memory: when memgov asks for it back, the operator writes
 * its partial aggregates, sorted by key, as one run to a spill file and empties the table. At the end of the input
 * it spills what is left too (or, when it never spilled, keeps the table as user memory if the pool has room) and
 * merges the runs by key, adding up the partial sums of a key found in several runs.
 */
final class HashAggregation
        extends SpillingOperator
{
    static final String TAG = "HashAggregation";
    private static final int BATCH_ROWS = 4096;
    // a run is (key, sum) pairs of longs, written in blocks
    private static final int GROUP_WIRE_BYTES = 2 * Long.BYTES;
    private static final int GROUPS_PER_BLOCK = 512;
    // reading a run back holds the reader's 64KB buffer and one decoded block
    static final long BYTES_PER_OPEN_RUN = 64 * 1024 + GROUPS_PER_BLOCK * GROUP_WIRE_BYTES + 2 * 16;

    private final int distinctKeys;
    private final GroupTable table = new GroupTable();
    private final List<SpillFile> runs = new ArrayList<>();
    private int runsWritten;

    /**
     * @param spillFiles where runs go when memory is revoked; required when {@code revocable}
     */
    HashAggregation(long seed, int rows, int distinctKeys, OperatorMemoryContext memory, boolean revocable, OperatorDriver driver,
            SpillFileManager spillFiles)
    {
        super("aggregation", seed, rows, memory, revocable, driver, spillFiles);
        if (distinctKeys <= 0) {
            throw new IllegalArgumentException("distinctKeys must be positive: " + distinctKeys);
        }
        this.distinctKeys = distinctKeys;
    }

    /** Runs written to spill files so far. */
    int runsWritten()
    {
        return runsWritten;
    }

    /** Aggregates the input and returns the checksum of the groups. Deletes its spill files before returning. */
    long run()
            throws InterruptedException
    {
        try {
            readInput();
            finishInput();
            return runs.isEmpty() ? checksumInMemory() : merge();
        }
        finally {
            close();
        }
    }

    /** Aggregates every input row into the table, reserving before the table grows. */
    @Override
    void readInput()
            throws InterruptedException
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
        account();
    }

    // room for `newGroups` more groups, reserved before the table grows: the old and the new arrays while it rehashes,
    // then the new ones; a revoke served while waiting empties the table, and the room is worked out again
    private void makeRoom(int newGroups)
            throws InterruptedException
    {
        // serves a revoke asked for since the last batch
        account();
        while (true) {
            // no more new groups than the batch has rows, nor than there are keys
            int needed = GroupTable.capacityFor(Math.min((long) table.size() + newGroups, distinctKeys));
            if (needed <= table.capacity()) {
                return;
            }
            if (reserve(table.bytes() + GroupTable.bytes(needed))) {
                table.resize(needed);
                account();
            }
        }
    }

    /** The heap a table of {@code groups} groups takes, without the batch's headroom: for sizing workloads. */
    static long tableBytes(long groups)
    {
        return GroupTable.bytes(GroupTable.capacityFor(groups));
    }

    @Override
    Object[] heldState()
    {
        return new Object[] {table};
    }

    @Override
    long heldBytes()
    {
        return table.bytes();
    }

    @Override
    boolean spilled()
    {
        return !runs.isEmpty();
    }

    // writes the table's partial aggregates, sorted by key, as one run and frees the table
    @Override
    void spill()
    {
        if (table.size() == 0) {
            table.release();
            heldMemory().setBytes(0);
            return;
        }
        driver.checkNotKilled();
        // the sorted keys are extra heap for a moment: reserved before they exist (unblocked: the spill frees far more right after)
        long keysBytes = GroupTable.longArrayBytes(table.size());
        memory.userMemory().setBytes(memory.userMemory().bytes() + keysBytes);
        try {
            long[] keys = table.sortedKeys();
            SpillFile file = newSpillFile(TAG);
            runs.add(file);
            try (SpillFileWriter writer = file.newWriter()) {
                SpillBlockWriter blocks = new SpillBlockWriter(writer, GROUPS_PER_BLOCK * GROUP_WIRE_BYTES);
                for (long key : keys) {
                    blocks.putLongs(key, table.sum(key));
                }
                blocks.flush();
            }
            countSpilledBytes(file);
            runsWritten++;
            table.release();
            heldMemory().setBytes(0);
        }
        finally {
            memory.userMemory().setBytes(memory.userMemory().bytes() - keysBytes);
        }
    }

    private long checksumInMemory()
    {
        driver.checkNotKilled();
        long[] checksum = new long[1];
        table.forEach((key, sum) -> checksum[0] += mix(key, sum));
        return checksum[0];
    }

    // a k-way merge of the runs by key; a key's partial sums from several runs are added up before it is output
    private long merge()
            throws InterruptedException
    {
        driver.setBytes(memory.userMemory(), runs.size() * BYTES_PER_OPEN_RUN, () -> {});
        PriorityQueue<RunCursor> queue = new PriorityQueue<>(runs.size(), Comparator.comparingLong(RunCursor::key));
        List<SpillFileReader> readers = new ArrayList<>();
        try {
            for (SpillFile run : runs) {
                SpillFileReader reader = run.newReader();
                readers.add(reader);
                RunCursor cursor = new RunCursor(reader);
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
                checksum += mix(key, sum);
                if (++merged % BATCH_ROWS == 0) {
                    driver.checkNotKilled();
                }
            }
            driver.checkNotKilled();
            return checksum;
        }
        finally {
            readers.forEach(SpillFileReader::close);
        }
    }

    @Override
    void discardHeldAndSpilled()
    {
        runs.forEach(SpillFile::close);
        runs.clear();
        table.release();
    }

    /** The same answer computed independently: no hash table, no spilling, no memgov, an array indexed by key. */
    static long expected(long seed, int rows, int distinctKeys)
    {
        SplittableRandom random = new SplittableRandom(seed);
        long[] sums = new long[distinctKeys];
        boolean[] seen = new boolean[distinctKeys];
        for (int row = 0; row < rows; row++) {
            int key = random.nextInt(distinctKeys);
            sums[key] += random.nextInt(1000);
            seen[key] = true;
        }
        long checksum = 0;
        for (int key = 0; key < distinctKeys; key++) {
            if (seen[key]) {
                checksum += mix(key, sums[key]);
            }
        }
        return checksum;
    }

    // not linear in the key nor the sum: a key output twice, or a sum given to the wrong key, changes the checksum
    static long mix(long key, long sum)
    {
        long h = key * 0x9E3779B97F4A7C15L ^ sum;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        return h;
    }

    /**
     * The groups: open addressing with linear probing over two parallel arrays, keys and sums, at most half full (short
     * probe sequences). Its heap is its two arrays and nothing else, so what it will hold at a capacity is known before
     * it is allocated ({@link #bytes(int)}); it only grows when told to ({@link #resize}). Keys are non-negative.
     */
    static final class GroupTable
    {
        // the generator's keys are non-negative ints: -1 marks a free slot
        private static final long FREE = -1;
        private static final int MIN_CAPACITY = 1024;
        private static final long[] NONE = new long[0];
        private long[] keys = NONE;
        private long[] sums = NONE;
        private int size;

        interface GroupConsumer
        {
            void accept(long key, long sum);
        }

        /** The capacity that holds {@code groups} groups at most half full: a power of two. */
        static int capacityFor(long groups)
        {
            long capacity = Math.max(MIN_CAPACITY, Long.highestOneBit(Math.max(1, 2 * groups - 1)) << 1);
            if (capacity > 1 << 30) {
                throw new IllegalArgumentException("too many groups for one table: " + groups);
            }
            return (int) capacity;
        }

        /** The heap of a table of {@code capacity} slots: its two arrays. */
        static long bytes(int capacity)
        {
            return capacity == 0 ? 0 : 2 * longArrayBytes(capacity);
        }

        static long longArrayBytes(int length)
        {
            return arrayBytes(length, Long.BYTES);
        }

        long bytes()
        {
            return bytes(capacity());
        }

        int capacity()
        {
            return keys.length;
        }

        int size()
        {
            return size;
        }

        /** Adds {@code value} to the group of {@code key}; the caller made room ({@link #resize}) for a new group. */
        void add(long key, long value)
        {
            int slot = slot(key);
            if (keys[slot] == FREE) {
                if (2L * (size + 1) > keys.length) {
                    throw new IllegalStateException("no room for group " + key + ": " + size + " groups in " + keys.length + " slots");
                }
                keys[slot] = key;
                size++;
            }
            sums[slot] += value;
        }

        long sum(long key)
        {
            int slot = slot(key);
            if (keys[slot] == FREE) {
                throw new IllegalArgumentException("no group " + key);
            }
            return sums[slot];
        }

        /** Moves the groups to new arrays of {@code capacity} slots: both are on the heap until it returns. */
        void resize(int capacity)
        {
            long[] oldKeys = keys;
            long[] oldSums = sums;
            keys = new long[capacity];
            sums = new long[capacity];
            Arrays.fill(keys, FREE);
            for (int slot = 0; slot < oldKeys.length; slot++) {
                if (oldKeys[slot] != FREE) {
                    int target = slot(oldKeys[slot]);
                    keys[target] = oldKeys[slot];
                    sums[target] = oldSums[slot];
                }
            }
        }

        /** The keys in order: a new array of {@link #size()} longs. */
        long[] sortedKeys()
        {
            long[] sorted = new long[size];
            int index = 0;
            for (long key : keys) {
                if (key != FREE) {
                    sorted[index++] = key;
                }
            }
            Arrays.sort(sorted);
            return sorted;
        }

        void forEach(GroupConsumer consumer)
        {
            for (int slot = 0; slot < keys.length; slot++) {
                if (keys[slot] != FREE) {
                    consumer.accept(keys[slot], sums[slot]);
                }
            }
        }

        /** Drops every group and the arrays. */
        void release()
        {
            keys = NONE;
            sums = NONE;
            size = 0;
        }

        // the key's slot, or the free slot where it goes
        private int slot(long key)
        {
            int mask = keys.length - 1;
            long hash = key * 0x9E3779B97F4A7C15L;
            int slot = (int) (hash ^ (hash >>> 32)) & mask;
            while (keys[slot] != FREE && keys[slot] != key) {
                slot = (slot + 1) & mask;
            }
            return slot;
        }
    }

    private static final class RunCursor
    {
        private final SpillBlockReader records;
        private long key;
        private long sum;

        RunCursor(SpillFileReader reader)
        {
            this.records = new SpillBlockReader(reader);
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
            if (!records.hasNextRecord()) {
                return false;
            }
            key = records.getLong();
            sum = records.getLong();
            return true;
        }
    }
}
