package io.memgov.spill;

import io.memgov.spi.query.TaskId;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

import static java.util.Objects.requireNonNull;

/**
 * An ORDER BY over (key, value) rows that holds at most {@code budgetRows} rows in memory: when the buffer is full it
 * sorts it and spills it as a run, and at the end merges the runs (and what is still buffered) back. The operator
 * the lab's sort resembles, written here to prove the spill files round-trip real work.
 */
final class SpillingSorter
        implements AutoCloseable
{
    record Row(long key, long value) {}

    static final Comparator<Row> ORDER = Comparator.comparingLong(Row::key).thenComparingLong(Row::value);
    static final int ROW_BYTES = 2 * Long.BYTES;

    private static final int ROWS_PER_BLOCK = 4096;

    private final SpillFileManager manager;
    private final TaskId taskId;
    private final int budgetRows;
    private final List<Row> buffer = new ArrayList<>();
    private final List<SpillFile> runs = new ArrayList<>();

    SpillingSorter(SpillFileManager manager, TaskId taskId, int budgetRows)
    {
        this.manager = requireNonNull(manager, "manager is null");
        this.taskId = requireNonNull(taskId, "taskId is null");
        if (budgetRows <= 0) {
            throw new IllegalArgumentException("budgetRows must be positive: " + budgetRows);
        }
        this.budgetRows = budgetRows;
    }

    void add(long key, long value)
    {
        buffer.add(new Row(key, value));
        if (buffer.size() >= budgetRows) {
            spillRun();
        }
    }

    List<SpillFile> runs()
    {
        return List.copyOf(runs);
    }

    /** Every row added, in {@link #ORDER}. */
    List<Row> sorted()
    {
        buffer.sort(ORDER);
        if (runs.isEmpty()) {
            return List.copyOf(buffer);
        }
        PriorityQueue<Cursor> heads = new PriorityQueue<>(Comparator.comparing(Cursor::current, ORDER));
        for (SpillFile run : runs) {
            Cursor cursor = new RunCursor(run.newReader());
            if (cursor.advance()) {
                heads.add(cursor);
            }
        }
        Cursor memory = new ListCursor(buffer);
        if (memory.advance()) {
            heads.add(memory);
        }
        List<Row> merged = new ArrayList<>();
        while (!heads.isEmpty()) {
            Cursor head = heads.poll();
            merged.add(head.current());
            if (head.advance()) {
                heads.add(head);
            }
        }
        return merged;
    }

    /** Deletes the runs, as an operator does when it finishes or its query fails. */
    @Override
    public void close()
    {
        runs.forEach(SpillFile::close);
        runs.clear();
        buffer.clear();
    }

    private void spillRun()
    {
        buffer.sort(ORDER);
        SpillFile run = manager.create(taskId, "OrderBy");
        runs.add(run);
        try (SpillFileWriter writer = run.newWriter()) {
            ByteBuffer block = ByteBuffer.allocate(ROWS_PER_BLOCK * ROW_BYTES);
            for (Row row : buffer) {
                block.putLong(row.key()).putLong(row.value());
                if (!block.hasRemaining()) {
                    writer.write(block.array(), 0, block.position());
                    block.clear();
                }
            }
            if (block.position() > 0) {
                writer.write(block.array(), 0, block.position());
            }
        }
        buffer.clear();
    }

    private interface Cursor
    {
        Row current();

        boolean advance();
    }

    private static final class ListCursor
            implements Cursor
    {
        private final List<Row> rows;
        private int next;
        private Row current;

        ListCursor(List<Row> rows)
        {
            this.rows = rows;
        }

        @Override
        public Row current()
        {
            return current;
        }

        @Override
        public boolean advance()
        {
            current = next < rows.size() ? rows.get(next++) : null;
            return current != null;
        }
    }

    private static final class RunCursor
            implements Cursor
    {
        private final SpillFileReader reader;
        private ByteBuffer block = ByteBuffer.allocate(0);
        private Row current;

        RunCursor(SpillFileReader reader)
        {
            this.reader = reader;
        }

        @Override
        public Row current()
        {
            return current;
        }

        @Override
        public boolean advance()
        {
            while (!block.hasRemaining()) {
                if (!reader.hasNext()) {
                    reader.close();
                    current = null;
                    return false;
                }
                block = ByteBuffer.wrap(reader.next());
            }
            current = new Row(block.getLong(), block.getLong());
            return true;
        }
    }
}
