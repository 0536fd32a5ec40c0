package io.memgov.lab;

import io.memgov.spill.SpillFileReader;

import java.nio.ByteBuffer;

import static java.util.Objects.requireNonNull;

/** Reads back the records a {@link SpillBlockWriter} wrote, one block in memory at a time. */
final class SpillBlockReader
{
    private final SpillFileReader reader;
    private ByteBuffer block = ByteBuffer.allocate(0);

    SpillBlockReader(SpillFileReader reader)
    {
        this.reader = requireNonNull(reader, "reader is null");
    }

    /** Whether another record follows; reads the next block when the current one is used up. */
    boolean hasNextRecord()
    {
        while (!block.hasRemaining()) {
            if (!reader.hasNext()) {
                return false;
            }
            block = ByteBuffer.wrap(reader.next());
        }
        return true;
    }

    int getInt()
    {
        return block.getInt();
    }

    long getLong()
    {
        return block.getLong();
    }
}
