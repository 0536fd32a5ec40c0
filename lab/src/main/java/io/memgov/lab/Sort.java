package io.memgov.lab;

import io.memgov.engine.node.LocalMemoryContext;
import io.memgov.engine.node.OperatorMemoryContext;
import io.memgov.spi.TaskId;
import io.memgov.spi.spill.RevocableConsumer;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

import static java.util.Objects.requireNonNull;

/**
 * A real sort: {@code SELECT value ORDER BY value} over generated rows. It buffers its input in pages of {@code int}s
 * on the heap and accounts them through memgov, as user memory, or, when {@code revocable}, as revocable memory that
 * memgov may ask back: then it sorts what it holds, writes it as one sorted run to a spill file and frees it. The
 * output is a k-way merge of the sorted pages and runs, folded into an order-sensitive checksum.
 *
 * <p>Memory is only ever touched by the operator's own thread: {@link RevokeRequests#startMemoryRevoke()} (the revoking
 * scheduler's thread) only records the request, which the operator serves between pages or while it is blocked.
 */
final class Sort
{
    static final String TAG = "OrderBy";
    static final int VALUE_DOMAIN = 1 << 18;
    static final int PAGE_ROWS = 16 * 1024;
    // int[PAGE_ROWS] (16-byte header + 4 per value) and its slot in the page list
    static final long BYTES_PER_PAGE = 16 + 4L * PAGE_ROWS + 8;
    private static final int BLOCK_VALUES = 8 * 1024;
    // reading a run back holds the reader's 64KB buffer and one decoded block
    static final long BYTES_PER_OPEN_RUN = 64 * 1024 + 4L * BLOCK_VALUES + 2 * 16;

    private final long seed;
    private final int rows;
    private final OperatorMemoryContext memory;
    private final boolean revocable;
    private final OperatorDriver driver;
    private final SpillFileManager spillFiles;
    private final TaskId taskId;

    private final List<int[]> pages = new ArrayList<>();
    private final List<SpillFile> runs = new ArrayList<>();
    private long spilledBytes;

    private final RevokeRequests revokes;

    /**
     * @param spillFiles where runs go when memory is revoked; required when {@code revocable}
     */
    Sort(long seed, int rows, OperatorMemoryContext memory, boolean revocable, OperatorDriver driver, SpillFileManager spillFiles)
    {
        this.seed = seed;
        this.rows = rows;
        this.memory = requireNonNull(memory, "memory is null");
        this.revocable = revocable;
        this.driver = requireNonNull(driver, "driver is null");
        this.spillFiles = spillFiles;
        this.taskId = memory.task().taskId();
        if (revocable) {
            requireNonNull(spillFiles, "spillFiles is null for a revocable sort");
        }
        this.revokes = new RevokeRequests(revocable, this::spill);
    }

    /** What the operator registers with {@code OperatorMemoryContext.setRevocableConsumer}. */
    RevocableConsumer revocableConsumer()
    {
        return revokes;
    }

    /** Bytes written to spill files so far. */
    long spilledBytes()
    {
        return spilledBytes;
    }

    /** Sorts the input and returns the checksum of the sorted output. Deletes its spill files before returning. */
    long run()
            throws InterruptedException
    {
        try {
            SplittableRandom random = new SplittableRandom(seed);
            int[] page = new int[PAGE_ROWS];
            int filled = 0;
            for (int row = 0; row < rows; row++) {
                page[filled++] = random.nextInt(VALUE_DOMAIN);
                if (filled == PAGE_ROWS) {
                    pages.add(page);
                    account();
                    page = new int[PAGE_ROWS];
                    filled = 0;
                }
            }
            if (filled > 0) {
                pages.add(Arrays.copyOf(page, filled));
            }
            page = null;
            account();
            finishInput();
            return merge();
        }
        finally {
            close();
        }
    }

    private LocalMemoryContext bufferMemory()
    {
        return revocable ? memory.revocableMemory() : memory.userMemory();
    }

    private void account()
            throws InterruptedException
    {
        revokes.serve();
        driver.setBytes(bufferMemory(), pages.size() * BYTES_PER_PAGE, revokes::serve);
    }

    // no more revokes once the input is complete: what is still in memory either becomes user memory or is spilled
    private void finishInput()
            throws InterruptedException
    {
        revokes.stopAccepting();
        if (!revocable || pages.isEmpty()) {
            return;
        }
        long bytes = pages.size() * BYTES_PER_PAGE;
        if (runs.isEmpty() && memory.userMemory().trySetBytes(bytes)) {
            memory.revocableMemory().setBytes(0);
        }
        else {
            spill();
        }
    }


    // writes everything in memory as one sorted run and frees it
    private void spill()
    {
        if (pages.isEmpty()) {
            return;
        }
        driver.checkNotKilled();
        SpillFile file = spillFiles.create(taskId, TAG);
        runs.add(file);
        try (SpillFileWriter writer = file.newWriter()) {
            ByteBuffer block = ByteBuffer.allocate(4 * BLOCK_VALUES);
            mergeInto(pageCursors(), value -> {
                block.putInt(value);
                if (!block.hasRemaining()) {
                    writer.write(block.array(), 0, block.position());
                    block.clear();
                }
            });
            if (block.position() > 0) {
                writer.write(block.array(), 0, block.position());
            }
        }
        spilledBytes += file.sizeBytes();
        pages.clear();
        memory.revocableMemory().setBytes(0);
    }

    private long merge()
            throws InterruptedException
    {
        // the runs' read buffers are memory too; the pages are already accounted (user memory by now)
        long pagesBytes = pages.size() * BYTES_PER_PAGE;
        driver.setBytes(memory.userMemory(), pagesBytes + runs.size() * BYTES_PER_OPEN_RUN, () -> {});
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
        for (int[] page : pages) {
            Arrays.sort(page);
            PageCursor cursor = new PageCursor(page);
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


    /** Deletes the runs and releases the operator's memory; completes a revoke request nobody will serve. */
    private void close()
    {
        revokes.cancel();
        runs.forEach(SpillFile::close);
        runs.clear();
        pages.clear();
        memory.close();
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
        private int position = -1;

        PageCursor(int[] values)
        {
            this.values = values;
        }

        @Override
        public int current()
        {
            return values[position];
        }

        @Override
        public boolean advance()
        {
            return ++position < values.length;
        }
    }

    private static final class RunCursor
            implements Cursor
    {
        private final SpillFileReader reader;
        private ByteBuffer block = ByteBuffer.allocate(0);
        private int current;

        RunCursor(SpillFileReader reader)
        {
            this.reader = reader;
        }

        @Override
        public int current()
        {
            return current;
        }

        @Override
        public boolean advance()
        {
            while (!block.hasRemaining()) {
                if (!reader.hasNext()) {
                    return false;
                }
                block = ByteBuffer.wrap(reader.next());
            }
            current = block.getInt();
            return true;
        }
    }
}
