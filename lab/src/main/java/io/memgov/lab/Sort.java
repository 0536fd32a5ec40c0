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
 * A real sort: {@code SELECT value ORDER BY value} over generated rows. It buffers its input in pages of {@code int}s
 * on the heap, each reserved through memgov before it is allocated (the last one trimmed to its rows), as user memory,
 * or, when {@code revocable}, as revocable memory that memgov may ask back: then it sorts what it holds, writes it as
 * one sorted run to a spill file and frees it. The output is a k-way merge of the sorted pages and runs, folded into an
 * order-sensitive checksum.
 */
final class Sort
        extends SpillingOperator
{
    static final String TAG = "OrderBy";
    static final int VALUE_DOMAIN = 1 << 18;
    // an int[] of exactly 64KB with its 16-byte header: 16 fill a 1MB G1 region (16K ints, 16 bytes more, fit 15 and
    // left each region 6% empty; a region never splits an object)
    static final int PAGE_ROWS = 16 * 1024 - 4;
    // a full page: int[PAGE_ROWS] and its slot in the page list
    static final long BYTES_PER_PAGE = pageBytes(PAGE_ROWS);
    private static final int BLOCK_VALUES = 8 * 1024;
    // reading a run back holds the reader's 64KB buffer and one decoded block
    static final long BYTES_PER_OPEN_RUN = 64 * 1024 + 4L * BLOCK_VALUES + 2 * 16;

    private final List<int[]> pages = new ArrayList<>();
    // what the pages take, as pageBytes() of each
    private long pagesBytes;
    // the page being filled, not in pages yet; null when there is none
    private int[] page;
    private int filled;
    private final List<SpillFile> runs = new ArrayList<>();
    private int runsWritten;

    /**
     * @param spillFiles where runs go when memory is revoked; required when {@code revocable}
     */
    Sort(long seed, int rows, OperatorMemoryContext memory, boolean revocable, OperatorDriver driver, SpillFileManager spillFiles)
    {
        super("sort", seed, rows, memory, revocable, driver, spillFiles);
    }

    /** Sorts the input and returns the checksum of the sorted output. Deletes its spill files before returning. */
    long run()
            throws InterruptedException
    {
        try {
            readInput();
            finishInput();
            return merge();
        }
        finally {
            close();
        }
    }

    /** Buffers every input row in pages, reserving each page before it is allocated. */
    @Override
    void readInput()
            throws InterruptedException
    {
        SplittableRandom random = new SplittableRandom(seed);
        for (int row = 0; row < rows; row++) {
            if (page == null) {
                while (!reserve(heldBytes() + BYTES_PER_PAGE)) {
                    // a revoke was served meanwhile: what is held changed
                }
                page = new int[PAGE_ROWS];
            }
            page[filled++] = random.nextInt(VALUE_DOMAIN);
            if (filled == PAGE_ROWS) {
                addPage(page);
            }
        }
        if (page != null) {
            // the last page, trimmed to its rows: the copy is reserved before it is made, beside the full page
            long trimmedBytes = pageBytes(filled);
            if (reserve(heldBytes() + trimmedBytes)) {
                addPage(Arrays.copyOf(page, filled));
            }
            // else a revoke served while waiting spilled the page too
        }
        account();
    }

    private void addPage(int[] full)
    {
        pages.add(full);
        pagesBytes += pageBytes(full.length);
        page = null;
        filled = 0;
    }

    /** A page of {@code rows} values: the {@code int[]} and its slot in the page list. */
    static long pageBytes(int rows)
    {
        return arrayBytes(rows, Integer.BYTES) + REFERENCE_BYTES;
    }

    @Override
    Object[] heldState()
    {
        return page == null ? new Object[] {pages} : new Object[] {pages, page};
    }

    @Override
    long heldBytes()
    {
        return pagesBytes + (page == null ? 0 : BYTES_PER_PAGE);
    }

    /** Runs written to spill files so far. */
    int runsWritten()
    {
        return runsWritten;
    }

    @Override
    boolean spilled()
    {
        return !runs.isEmpty();
    }

    // writes everything in memory, the page being filled included, as one sorted run and frees it
    @Override
    void spill()
    {
        if (pages.isEmpty() && filled == 0) {
            discardPages();
            return;
        }
        driver.checkNotKilled();
        SpillFile file = newSpillFile(TAG);
        runs.add(file);
        try (SpillFileWriter writer = file.newWriter()) {
            SpillBlockWriter blocks = new SpillBlockWriter(writer, 4 * BLOCK_VALUES);
            List<Cursor> cursors = pageCursors();
            if (filled > 0) {
                Arrays.sort(page, 0, filled);
                PageCursor partial = new PageCursor(page, filled);
                partial.advance();
                cursors.add(partial);
            }
            mergeInto(cursors, blocks::putInt);
            blocks.flush();
        }
        countSpilledBytes(file);
        runsWritten++;
        discardPages();
        driver.release(memory.revocableMemory());
    }

    private void discardPages()
    {
        pages.clear();
        pagesBytes = 0;
        page = null;
        filled = 0;
    }

    private long merge()
            throws InterruptedException
    {
        // the runs' read buffers are memory too; the pages are already accounted (user memory by now)
        driver.setBytes(memory.userMemory(), heldBytes() + runs.size() * BYTES_PER_OPEN_RUN, () -> {});
        List<Cursor> cursors = pageCursors();
        List<SpillFileReader> readers = new ArrayList<>();
        try {
            for (SpillFile run : runs) {
                SpillFileReader reader = run.newReader();
                readers.add(reader);
                Cursor cursor = new RunCursor(reader);
                if (cursor.advance()) {
                    cursors.add(cursor);
                }
            }
            Checksum checksum = new Checksum();
            mergeInto(cursors, checksum);
            driver.checkNotKilled();
            return checksum.value;
        }
        finally {
            readers.forEach(SpillFileReader::close);
        }
    }

    private List<Cursor> pageCursors()
    {
        List<Cursor> cursors = new ArrayList<>();
        for (int[] full : pages) {
            Arrays.sort(full);
            PageCursor cursor = new PageCursor(full, full.length);
            if (cursor.advance()) {
                cursors.add(cursor);
            }
        }
        return cursors;
    }

    private interface IntSink
    {
        void accept(int value);
    }

    /** Cursors must already be positioned on their first value. */
    private static void mergeInto(List<Cursor> cursors, IntSink sink)
    {
        PriorityQueue<Cursor> queue = new PriorityQueue<>(Math.max(1, cursors.size()), Comparator.comparingInt(Cursor::current));
        queue.addAll(cursors);
        while (!queue.isEmpty()) {
            Cursor smallest = queue.poll();
            sink.accept(smallest.current());
            if (smallest.advance()) {
                queue.add(smallest);
            }
        }
    }

    @Override
    void discardHeldAndSpilled()
    {
        runs.forEach(SpillFile::close);
        runs.clear();
        discardPages();
    }

    /** The same answer computed independently: a counting sort, no pages, no merge, no memgov. */
    static long expected(long seed, int rows)
    {
        SplittableRandom random = new SplittableRandom(seed);
        int[] counts = new int[VALUE_DOMAIN];
        for (int row = 0; row < rows; row++) {
            counts[random.nextInt(VALUE_DOMAIN)]++;
        }
        Checksum checksum = new Checksum();
        for (int value = 0; value < VALUE_DOMAIN; value++) {
            for (int i = 0; i < counts[value]; i++) {
                checksum.accept(value);
            }
        }
        return checksum.value;
    }

    // depends on the order of the values, so an unsorted output gives another checksum
    private static final class Checksum
            implements IntSink
    {
        long value = 17;

        @Override
        public void accept(int next)
        {
            value = value * 0x100000001B3L + next;
        }
    }

    private interface Cursor
    {
        int current();

        boolean advance();
    }

    private static final class PageCursor
            implements Cursor
    {
        private final int[] values;
        private final int length;
        private int position = -1;

        PageCursor(int[] values, int length)
        {
            this.values = values;
            this.length = length;
        }

        @Override
        public int current()
        {
            return values[position];
        }

        @Override
        public boolean advance()
        {
            return ++position < length;
        }
    }

    private static final class RunCursor
            implements Cursor
    {
        private final SpillBlockReader records;
        private int current;

        RunCursor(SpillFileReader reader)
        {
            this.records = new SpillBlockReader(reader);
        }

        @Override
        public int current()
        {
            return current;
        }

        @Override
        public boolean advance()
        {
            if (!records.hasNextRecord()) {
                return false;
            }
            current = records.getInt();
            return true;
        }
    }
}
