package io.memgov.lab;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A real hash join: {@code SELECT ... FROM probe JOIN build USING (key)} over generated rows, folded into a checksum
 * of every matching (probe row, build row) pair. The build side ({@code rows} rows of key and payload, keys drawn
 * from {@code [0, rows)} so that many keys repeat) is hash-partitioned into {@link #PARTITIONS} partitions of
 * chunked {@code long} arrays on the heap; for the probe phase each partition gets a chained hash index
 * ({@code int} buckets and links, as Trino's {@code PagesHash}). The probe side is {@code rows} generated rows with
 * keys drawn from {@code [0, 2 * rows)}, so about half find no match.
 *
 * <p>Everything held is accounted through memgov: the build rows as user memory or, when {@code revocable}, as
 * revocable memory that memgov may ask back. Then the operator writes every build partition it holds to a spill file
 * and frees it; at the end of the build input it spills the rest too (or, when it never spilled, keeps the build side
 * as user memory if the pool has room). A spilled join probes in two passes, as Trino's spilling join does: the probe
 * rows are written to one spill file per partition, then each partition's build rows are read back, indexed, and
 * probed with that partition's probe rows, one partition in memory at a time.
 */
final class JoinBuild
        extends SpillingOperator
{
    static final String TAG = "HashBuilder";
    static final int PARTITIONS = 8;
    static final int CHUNK_ROWS = 1024;
    // a chunk is a long[] of keys and a long[] of payloads, and their slots in two lists
    static final long BYTES_PER_CHUNK = 2 * (arrayBytes(CHUNK_ROWS, Long.BYTES) + REFERENCE_BYTES);
    // a (key, payload) or (key, value) row in a spill file
    private static final int ROW_WIRE_BYTES = 2 * Long.BYTES;
    private static final int ROWS_PER_BLOCK = 512;
    private static final int BLOCK_BYTES = ROWS_PER_BLOCK * ROW_WIRE_BYTES;
    // reading a file back holds the reader's 64KB buffer and one decoded block
    static final long BYTES_PER_OPEN_READER = 64 * 1024 + BLOCK_BYTES + 2 * 16;
    // writing the probe side of a spilled join: one block buffer per partition
    static final long PROBE_WRITE_BUFFER_BYTES = PARTITIONS * (16L + BLOCK_BYTES);
    private static final int PROBE_CHECK_ROWS = 4096;

    private final Partition[] partitions = new Partition[PARTITIONS];
    private final List<SpillFile> probeFiles = new ArrayList<>();
    private boolean spilled;

    /**
     * @param spillFiles where build partitions go when memory is revoked; required when {@code revocable}
     */
    JoinBuild(long seed, int rows, OperatorMemoryContext memory, boolean revocable, OperatorDriver driver, SpillFileManager spillFiles)
    {
        super("join build", seed, rows, memory, revocable, driver, spillFiles);
        if (rows <= 0) {
            throw new IllegalArgumentException("rows must be positive: " + rows);
        }
        for (int p = 0; p < PARTITIONS; p++) {
            partitions[p] = new Partition();
        }
    }

    /** Whether the build side went to spill files. */
    @Override
    boolean spilled()
    {
        return spilled;
    }

    /** Builds, probes and returns the checksum of the matches. Deletes its spill files before returning. */
    long run()
            throws InterruptedException
    {
        try {
            readInput();
            finishInput();
            SplittableRandom probe = probeRows(seed);
            return spilled ? probeSpilled(probe) : probeInMemory(probe);
        }
        finally {
            close();
        }
    }

    /** Partitions every build row into chunks, reserving each chunk before it is allocated. */
    @Override
    void readInput()
            throws InterruptedException
    {
        SplittableRandom build = buildRows(seed);
        for (int row = 0; row < rows; row++) {
            long key = build.nextInt(rows);
            long payload = build.nextInt(1_000_000);
            Partition partition = partitions[partition(key)];
            // a new chunk: reserved first, waiting if the pool is full; a revoke served meanwhile empties the partitions
            while (partition.needsChunk() && !reserve(heldBytes() + BYTES_PER_CHUNK)) {
                // what is held changed: reserve again
            }
            partition.add(key, payload);
        }
        account();
    }

    // the build and the probe rows: two streams split from the seed, in this order
    private static SplittableRandom buildRows(long seed)
    {
        return new SplittableRandom(seed).split();
    }

    private static SplittableRandom probeRows(long seed)
    {
        SplittableRandom root = new SplittableRandom(seed);
        root.split();
        return root.split();
    }

    /** Indexes every partition held in memory, accounting the indexes first. */
    void buildIndexes()
            throws InterruptedException
    {
        long indexBytes = 0;
        for (Partition partition : partitions) {
            indexBytes += partition.indexBytes();
        }
        driver.setBytes(memory.userMemory(), heldBytes() + indexBytes, () -> {});
        for (Partition partition : partitions) {
            partition.buildIndex();
        }
    }

    @Override
    Object[] heldState()
    {
        return new Object[] {partitions};
    }

    // the build rows held in memory
    @Override
    long heldBytes()
    {
        long bytes = 0;
        for (Partition partition : partitions) {
            bytes += partition.chunkBytes();
        }
        return bytes;
    }

    // writes every build partition held in memory to a new spill file of that partition and frees it
    @Override
    void spill()
    {
        driver.checkNotKilled();
        spilled = true;
        for (Partition partition : partitions) {
            if (partition.rowCount == 0) {
                continue;
            }
            SpillFile file = newSpillFile(TAG);
            partition.runs.add(file);
            try (SpillFileWriter writer = file.newWriter()) {
                SpillBlockWriter blocks = new SpillBlockWriter(writer, BLOCK_BYTES);
                for (int row = 0; row < partition.rowCount; row++) {
                    blocks.putLongs(partition.key(row), partition.payload(row));
                }
                blocks.flush();
            }
            countSpilledBytes(file);
            partition.clear();
        }
        driver.release(heldMemory());
    }

    private long probeInMemory(SplittableRandom probe)
            throws InterruptedException
    {
        buildIndexes();
        long checksum = 0;
        for (int row = 0; row < rows; row++) {
            long key = probe.nextInt(2 * rows);
            long value = probe.nextInt(1000);
            checksum += partitions[partition(key)].probe(key, value);
            if (row % PROBE_CHECK_ROWS == 0) {
                driver.checkNotKilled();
            }
        }
        driver.checkNotKilled();
        return checksum;
    }

    private long probeSpilled(SplittableRandom probe)
            throws InterruptedException
    {
        // pass 1: the probe side, partitioned into spill files as the build side was
        driver.setBytes(memory.userMemory(), PROBE_WRITE_BUFFER_BYTES, () -> {});
        SpillFileWriter[] writers = new SpillFileWriter[PARTITIONS];
        SpillBlockWriter[] blocks = new SpillBlockWriter[PARTITIONS];
        try {
            for (int p = 0; p < PARTITIONS; p++) {
                SpillFile file = newSpillFile(TAG + "Probe");
                probeFiles.add(file);
                writers[p] = file.newWriter();
                blocks[p] = new SpillBlockWriter(writers[p], BLOCK_BYTES);
            }
            for (int row = 0; row < rows; row++) {
                long key = probe.nextInt(2 * rows);
                long value = probe.nextInt(1000);
                blocks[partition(key)].putLongs(key, value);
                if (row % PROBE_CHECK_ROWS == 0) {
                    driver.checkNotKilled();
                }
            }
            for (SpillBlockWriter partitionBlocks : blocks) {
                partitionBlocks.flush();
            }
        }
        finally {
            for (SpillFileWriter writer : writers) {
                if (writer != null) {
                    writer.close();
                }
            }
        }
        blocks = null;
        probeFiles.forEach(this::countSpilledBytes);

        // pass 2: one partition at a time, its build rows read back and indexed, then probed with its probe rows
        long checksum = 0;
        for (int p = 0; p < PARTITIONS; p++) {
            Partition partition = partitions[p];
            driver.setBytes(memory.userMemory(), BYTES_PER_OPEN_READER, () -> {});
            for (SpillFile run : partition.runs) {
                try (SpillFileReader reader = run.newReader()) {
                    SpillBlockReader records = new SpillBlockReader(reader);
                    while (records.hasNextRecord()) {
                        if (partition.needsChunk()) {
                            driver.setBytes(memory.userMemory(), BYTES_PER_OPEN_READER + partition.chunkBytes() + BYTES_PER_CHUNK, () -> {});
                        }
                        partition.add(records.getLong(), records.getLong());
                    }
                }
            }
            // the build rows are back: the runs are not needed any more
            partition.deleteRuns();
            driver.setBytes(memory.userMemory(), BYTES_PER_OPEN_READER + partition.chunkBytes() + partition.indexBytes(), () -> {});
            partition.buildIndex();
            long probedRows = 0;
            try (SpillFileReader reader = probeFiles.get(p).newReader()) {
                SpillBlockReader records = new SpillBlockReader(reader);
                while (records.hasNextRecord()) {
                    long key = records.getLong();
                    long value = records.getLong();
                    checksum += partition.probe(key, value);
                    if (++probedRows % PROBE_CHECK_ROWS == 0) {
                        driver.checkNotKilled();
                    }
                }
            }
            probeFiles.get(p).close();
            partition.clear();
            driver.release(memory.userMemory());
        }
        driver.checkNotKilled();
        return checksum;
    }

    @Override
    void discardHeldAndSpilled()
    {
        for (Partition partition : partitions) {
            partition.deleteRuns();
            partition.clear();
        }
        probeFiles.forEach(SpillFile::close);
        probeFiles.clear();
    }

    static int partition(long key)
    {
        return (int) (spread(key) >>> 61) & (PARTITIONS - 1);
    }

    private static long spread(long key)
    {
        long h = key * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 29);
    }

    /** What one matching pair adds to the checksum: linear in the payload, so the independent check can use sums. */
    static long match(long key, long probeValue, long payload)
    {
        return weight(key, probeValue) * payload + offset(key, probeValue);
    }

    private static long weight(long key, long probeValue)
    {
        return HashAggregation.mix(key, probeValue) | 1;
    }

    private static long offset(long key, long probeValue)
    {
        return HashAggregation.mix(probeValue, key) >>> 7;
    }

    /**
     * The same answer computed independently: no hash table, no partitions, no spilling, no memgov. The build side is
     * folded into a payload sum and a row count per key (arrays indexed by key); each probe row then adds
     * {@code weight * (sum of the payloads) + offset * (count)}, which is the sum of {@link #match} over its matches.
     */
    static long expected(long seed, int rows)
    {
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom build = root.split();
        SplittableRandom probe = root.split();
        long[] payloadSums = new long[rows];
        int[] counts = new int[rows];
        for (int row = 0; row < rows; row++) {
            int key = build.nextInt(rows);
            payloadSums[key] += build.nextInt(1_000_000);
            counts[key]++;
        }
        long checksum = 0;
        for (int row = 0; row < rows; row++) {
            int key = probe.nextInt(2 * rows);
            long value = probe.nextInt(1000);
            if (key < rows && counts[key] > 0) {
                checksum += weight(key, value) * payloadSums[key] + offset(key, value) * counts[key];
            }
        }
        return checksum;
    }

    /**
     * An index's {@code int} array held in pages of at most {@link #PAGE_INTS} (8KB), the last one trimmed: no page is
     * as large as half a G1 region, the smallest humongous object, and pages fill regions (see
     * {@link HashAggregation.GroupTable}); a partition of 50k rows had 512KB of buckets in one array, which took a
     * whole 1MB region.
     */
    static final class IndexPages
    {
        static final int PAGE_SHIFT = 11;
        static final int PAGE_INTS = 1 << PAGE_SHIFT;
        private static final int PAGE_MASK = PAGE_INTS - 1;

        private IndexPages() {}

        static int[][] allocate(int length)
        {
            int[][] pages = new int[(length + PAGE_MASK) >>> PAGE_SHIFT][];
            for (int page = 0; page < pages.length; page++) {
                pages[page] = new int[Math.min(PAGE_INTS, length - (page << PAGE_SHIFT))];
            }
            return pages;
        }

        /** The heap of {@link #allocate(int) allocate(length)}: the array of pages and the pages. */
        static long bytes(int length)
        {
            int fullPages = length >>> PAGE_SHIFT;
            int rest = length & PAGE_MASK;
            return arrayBytes(fullPages + (rest == 0 ? 0 : 1), REFERENCE_BYTES) + fullPages * arrayBytes(PAGE_INTS, Integer.BYTES)
                    + (rest == 0 ? 0 : arrayBytes(rest, Integer.BYTES));
        }

        static int get(int[][] pages, int index)
        {
            return pages[index >>> PAGE_SHIFT][index & PAGE_MASK];
        }

        static void set(int[][] pages, int index, int value)
        {
            pages[index >>> PAGE_SHIFT][index & PAGE_MASK] = value;
        }
    }

    /** Build rows of one partition: chunked arrays, and a chained hash index over them for the probe phase. */
    private static final class Partition
    {
        private final List<long[]> keyChunks = new ArrayList<>();
        private final List<long[]> payloadChunks = new ArrayList<>();
        private final List<SpillFile> runs = new ArrayList<>();
        private int rowCount;
        // the chained index: heads of chains by bucket and the next row of each row, in pages (see IndexPages)
        private int[][] buckets;
        private int[][] links;
        private int mask;

        /** Whether the next {@link #add} allocates a chunk ({@link #BYTES_PER_CHUNK}), to be reserved first. */
        boolean needsChunk()
        {
            return rowCount % CHUNK_ROWS == 0;
        }

        void add(long key, long payload)
        {
            int offset = rowCount % CHUNK_ROWS;
            if (offset == 0) {
                keyChunks.add(new long[CHUNK_ROWS]);
                payloadChunks.add(new long[CHUNK_ROWS]);
            }
            keyChunks.get(keyChunks.size() - 1)[offset] = key;
            payloadChunks.get(payloadChunks.size() - 1)[offset] = payload;
            rowCount++;
        }

        long key(int row)
        {
            return keyChunks.get(row / CHUNK_ROWS)[row % CHUNK_ROWS];
        }

        long payload(int row)
        {
            return payloadChunks.get(row / CHUNK_ROWS)[row % CHUNK_ROWS];
        }

        long chunkBytes()
        {
            return keyChunks.size() * BYTES_PER_CHUNK;
        }

        int bucketCount()
        {
            // a power of two, at least twice the rows: chains stay short
            return Integer.highestOneBit(Math.max(1, rowCount) * 2 - 1) << 1;
        }

        /** What {@link #buildIndex()} will allocate. */
        long indexBytes()
        {
            return rowCount == 0 ? 0 : IndexPages.bytes(bucketCount()) + IndexPages.bytes(rowCount);
        }

        void buildIndex()
        {
            if (rowCount == 0) {
                return;
            }
            int size = bucketCount();
            mask = size - 1;
            buckets = IndexPages.allocate(size);
            for (int[] page : buckets) {
                Arrays.fill(page, -1);
            }
            links = IndexPages.allocate(rowCount);
            for (int row = 0; row < rowCount; row++) {
                int bucket = bucket(key(row));
                IndexPages.set(links, row, IndexPages.get(buckets, bucket));
                IndexPages.set(buckets, bucket, row);
            }
        }

        /** The checksum of this probe row's matches. */
        long probe(long key, long value)
        {
            if (buckets == null) {
                return 0;
            }
            long sum = 0;
            for (int row = IndexPages.get(buckets, bucket(key)); row >= 0; row = IndexPages.get(links, row)) {
                if (key(row) == key) {
                    sum += match(key, value, payload(row));
                }
            }
            return sum;
        }

        private int bucket(long key)
        {
            return (int) spread(key) & mask;
        }

        void clear()
        {
            keyChunks.clear();
            payloadChunks.clear();
            rowCount = 0;
            buckets = null;
            links = null;
        }

        void deleteRuns()
        {
            runs.forEach(SpillFile::close);
            runs.clear();
        }
    }
}
