package io.memgov.lab;

import io.memgov.spill.SpillFileWriter;

import java.nio.ByteBuffer;

import static java.util.Objects.requireNonNull;

/**
 * Packs an operator's fixed-size records into blocks of a spill file. The block size is a multiple of the record size,
 * so a record never spans two blocks and {@link SpillBlockReader} decodes each block on its own.
 */
final class SpillBlockWriter
{
    private final SpillFileWriter writer;
    private final ByteBuffer block;

    SpillBlockWriter(SpillFileWriter writer, int blockBytes)
    {
        this.writer = requireNonNull(writer, "writer is null");
        this.block = ByteBuffer.allocate(blockBytes);
    }

    void putInt(int value)
    {
        block.putInt(value);
        writeIfFull();
    }

    void putLongs(long first, long second)
    {
        block.putLong(first).putLong(second);
        writeIfFull();
    }

    /** Writes the partly filled last block; call it before closing the file's writer. */
    void flush()
    {
        if (block.position() > 0) {
            writer.write(block.array(), 0, block.position());
            block.clear();
        }
    }

    private void writeIfFull()
    {
        if (!block.hasRemaining()) {
            writer.write(block.array(), 0, block.position());
            block.clear();
        }
    }
}
