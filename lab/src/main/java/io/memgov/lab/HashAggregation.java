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
 * table on the heap ({@link GroupTable}: two paged primitive arrays, so its retained size is known exactly) and reserving
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
                // a kill stops the resize between pages: the pool no longer counts them (OperatorDriver#holdAfterKill)
                table.resize(needed, driver::checkNotKilled);
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
            driver.release(heldMemory());
            return;
        }
        driver.checkNotKilled();
        // sorted where the groups are: besides the table, the spill allocates only the writer's buffers (under 100KB,
        // not reserved, as in every operator's spill)
        SpillFile file = newSpillFile(TAG);
        runs.add(file);
        try (SpillFileWriter writer = file.newWriter()) {
            SpillBlockWriter blocks = new SpillBlockWriter(writer, GROUPS_PER_BLOCK * GROUP_WIRE_BYTES);
            table.drainSorted(blocks::putLongs);
            blocks.flush();
        }
        countSpilledBytes(file);
        runsWritten++;
        driver.release(heldMemory());
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
     * probe sequences). Each array is held in small pages of at most {@link #PAGE_SLOTS} slots, so that no array is as
     * large as half a G1 region (512KB at the smallest, 1MB region) and pages fill regions: a larger one is a humongous object, which G1 allocates in
     * contiguous free regions of its own, never moves (not even in a full collection, on JDK 17) and whose last region's
     * rest is wasted; a heap whose free regions are scattered between such tables throws {@code OutOfMemoryError} for
     * the next one while it still has room for it in pieces (issue #18: every governed sweep OOM was a table resize).
     * Its heap is its pages and the two arrays of them and nothing else, so what it will hold at a capacity is known
     * before it is allocated ({@link #bytes(int)}); it only grows when told to ({@link #resize}). Keys are non-negative.
     */
    static final class GroupTable
    {
        // 1K slots: a page of longs is 8KB and a 16-byte header, so 127 fill a 1MB G1 region but for 0.6% of it (a
        // page of 16K slots, 128KB and its header, left each region an eighth empty: only 7 fit, in the sweep's
        // heap dump 61 regions held 53MB of pages); regions never split an object, in a full collection neither
        static final int PAGE_SHIFT = 10;
        static final int PAGE_SLOTS = 1 << PAGE_SHIFT;
        private static final int PAGE_MASK = PAGE_SLOTS - 1;
        // the generator's keys are non-negative ints: -1 marks a free slot
        private static final long FREE = -1;
        private static final int MIN_CAPACITY = 1024;
        private static final long[][] NONE = new long[0][];
        private long[][] keys = NONE;
        private long[][] sums = NONE;
        private int capacity;
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

        /** The heap of a table of {@code capacity} slots: two arrays of pages and their pages. */
        static long bytes(int capacity)
        {
            if (capacity == 0) {
                return 0;
            }
            int pages = pages(capacity);
            return 2 * (arrayBytes(pages, REFERENCE_BYTES) + pages * longArrayBytes(Math.min(capacity, PAGE_SLOTS)));
        }

        static long longArrayBytes(int length)
        {
            return arrayBytes(length, Long.BYTES);
        }

        private static int pages(int capacity)
        {
            return (capacity + PAGE_MASK) >>> PAGE_SHIFT;
        }

        long bytes()
        {
            return bytes(capacity);
        }

        int capacity()
        {
            return capacity;
        }

        int size()
        {
            return size;
        }

        /** Adds {@code value} to the group of {@code key}; the caller made room ({@link #resize}) for a new group. */
        void add(long key, long value)
        {
            int slot = slot(key);
            long[] keyPage = keys[slot >>> PAGE_SHIFT];
            if (keyPage[slot & PAGE_MASK] == FREE) {
                if (2L * (size + 1) > capacity) {
                    throw new IllegalStateException("no room for group " + key + ": " + size + " groups in " + capacity + " slots");
                }
                keyPage[slot & PAGE_MASK] = key;
                size++;
            }
            sums[slot >>> PAGE_SHIFT][slot & PAGE_MASK] += value;
        }

        /**
         * Moves the groups to new pages of {@code capacity} slots: the old and the new pages are on the heap until it
         * returns (no more: an old page is dropped once its groups moved).
         */
        void resize(int capacity)
        {
            resize(capacity, () -> {});
        }

        /**
         * As {@link #resize(int)}, running {@code beforeEachPage} before each new page is allocated: when it throws, the
         * table is as it was and the new pages are garbage.
         */
        void resize(int capacity, Runnable beforeEachPage)
        {
            long[][] oldKeys = keys;
            long[][] oldSums = sums;
            int pageSlots = Math.min(capacity, PAGE_SLOTS);
            long[][] newKeys = new long[pages(capacity)][];
            long[][] newSums = new long[newKeys.length][];
            for (int page = 0; page < newKeys.length; page++) {
                beforeEachPage.run();
                newKeys[page] = new long[pageSlots];
                Arrays.fill(newKeys[page], FREE);
                newSums[page] = new long[pageSlots];
            }
            keys = newKeys;
            sums = newSums;
            this.capacity = capacity;
            for (int page = 0; page < oldKeys.length; page++) {
                long[] keyPage = oldKeys[page];
                long[] sumPage = oldSums[page];
                for (int index = 0; index < keyPage.length; index++) {
                    if (keyPage[index] != FREE) {
                        int target = slot(keyPage[index]);
                        keys[target >>> PAGE_SHIFT][target & PAGE_MASK] = keyPage[index];
                        sums[target >>> PAGE_SHIFT][target & PAGE_MASK] = sumPage[index];
                    }
                }
                oldKeys[page] = null;
                oldSums[page] = null;
            }
        }

        /**
         * Hands the groups to {@code consumer} in key order, sorting them where they are, and empties the table: the
         * groups are moved to the front of the pages and heap-sorted there, so that a spill needs no heap beyond the
         * table's (issue #18: a sorted copy of the keys was an allocation of up to 3MB while the pool was full).
         */
        void drainSorted(GroupConsumer consumer)
        {
            int count = 0;
            for (int slot = 0; slot < capacity; slot++) {
                long key = key(slot);
                if (key != FREE) {
                    // count <= slot: the groups not moved yet are all after it
                    set(count++, key, sum(slot));
                }
            }
            // heap sort: in place, no recursion, n log n whatever the keys
            for (int parent = count / 2 - 1; parent >= 0; parent--) {
                siftDown(parent, count);
            }
            for (int end = count - 1; end > 0; end--) {
                swap(0, end);
                siftDown(0, end);
            }
            for (int index = 0; index < count; index++) {
                consumer.accept(key(index), sum(index));
            }
            release();
        }

        private void siftDown(int parent, int end)
        {
            while (true) {
                int child = 2 * parent + 1;
                if (child >= end) {
                    return;
                }
                if (child + 1 < end && key(child + 1) > key(child)) {
                    child++;
                }
                if (key(parent) >= key(child)) {
                    return;
                }
                swap(parent, child);
                parent = child;
            }
        }

        private void swap(int first, int second)
        {
            long key = key(first);
            long sum = sum(first);
            set(first, key(second), sum(second));
            set(second, key, sum);
        }

        private long key(int slot)
        {
            return keys[slot >>> PAGE_SHIFT][slot & PAGE_MASK];
        }

        private long sum(int slot)
        {
            return sums[slot >>> PAGE_SHIFT][slot & PAGE_MASK];
        }

        private void set(int slot, long key, long sum)
        {
            keys[slot >>> PAGE_SHIFT][slot & PAGE_MASK] = key;
            sums[slot >>> PAGE_SHIFT][slot & PAGE_MASK] = sum;
        }

        void forEach(GroupConsumer consumer)
        {
            for (int slot = 0; slot < capacity; slot++) {
                long key = key(slot);
                if (key != FREE) {
                    consumer.accept(key, sum(slot));
                }
            }
        }

        /** Drops every group and the pages. */
        void release()
        {
            keys = NONE;
            sums = NONE;
            capacity = 0;
            size = 0;
        }

        // the key's slot, or the free slot where it goes
        private int slot(long key)
        {
            int mask = capacity - 1;
            long hash = key * 0x9E3779B97F4A7C15L;
            int slot = (int) (hash ^ (hash >>> 32)) & mask;
            while (key(slot) != FREE && key(slot) != key) {
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
