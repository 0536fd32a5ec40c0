package io.memgov.lab;

import io.memgov.engine.node.OperatorMemoryContext;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * A real hash aggregation: {@code SELECT key, sum(value) GROUP BY key} over generated rows, holding a real hash
 * table on the heap and accounting its estimated retained size through memgov every batch of rows. When memgov says
 * the pool is full it stops and waits, as an operator whose driver is blocked would.
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
    // HashMap.Node (32) + boxed Long key (16, most are not cached) + long[1] (24) + a table slot (~8 at 0.75 load)
    static final long BYTES_PER_GROUP = 80;
    private static final int BATCH_ROWS = 4096;
    // a run is (key, sum) pairs of longs, written in blocks
    private static final int GROUP_WIRE_BYTES = 2 * Long.BYTES;
    private static final int GROUPS_PER_BLOCK = 512;
    // sorting the keys of the table to spill it: a long[] beside the table
    static final long BYTES_PER_SORTED_KEY = Long.BYTES;
    // reading a run back holds the reader's 64KB buffer and one decoded block
    static final long BYTES_PER_OPEN_RUN = 64 * 1024 + GROUPS_PER_BLOCK * GROUP_WIRE_BYTES + 2 * 16;

    private final int distinctKeys;
    private final Map<Long, long[]> groups = new HashMap<>();
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
            SplittableRandom random = new SplittableRandom(seed);
            for (int row = 0; row < rows; row++) {
                long key = random.nextInt(distinctKeys);
                long value = random.nextInt(1000);
                groups.computeIfAbsent(key, ignored -> new long[1])[0] += value;
                if (row % BATCH_ROWS == BATCH_ROWS - 1) {
                    account();
                }
            }
            account();
            finishInput();
            return runs.isEmpty() ? checksumInMemory() : merge();
        }
        finally {
            close();
        }
    }

    @Override
    long heldBytes()
    {
        return groups.size() * BYTES_PER_GROUP;
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
        if (groups.isEmpty()) {
            return;
        }
        driver.checkNotKilled();
        // the sorted keys are extra heap for a moment: accounted (unblocked; the spill frees far more right after)
        long[] keys = new long[groups.size()];
        memory.userMemory().setBytes(memory.userMemory().bytes() + keys.length * BYTES_PER_SORTED_KEY);
        try {
            int index = 0;
            for (Long key : groups.keySet()) {
                keys[index++] = key;
            }
            Arrays.sort(keys);
            SpillFile file = newSpillFile(TAG);
            runs.add(file);
            try (SpillFileWriter writer = file.newWriter()) {
                SpillBlockWriter blocks = new SpillBlockWriter(writer, GROUPS_PER_BLOCK * GROUP_WIRE_BYTES);
                for (long key : keys) {
                    blocks.putLongs(key, groups.get(key)[0]);
                }
                blocks.flush();
            }
            countSpilledBytes(file);
            runsWritten++;
            groups.clear();
            heldMemory().setBytes(0);
        }
        finally {
            memory.userMemory().setBytes(memory.userMemory().bytes() - keys.length * BYTES_PER_SORTED_KEY);
        }
    }

    private long checksumInMemory()
    {
        driver.checkNotKilled();
        long checksum = 0;
        for (Map.Entry<Long, long[]> group : groups.entrySet()) {
            checksum += mix(group.getKey(), group.getValue()[0]);
        }
        return checksum;
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
        groups.clear();
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
