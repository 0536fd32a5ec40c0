package io.memgov.spill;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;

import java.io.UncheckedIOException;

import static java.util.Objects.requireNonNull;

/**
 * Appends blocks of bytes to a {@link SpillFile}; each block comes back whole, in order, from a
 * {@link SpillFileReader}. Blocks are compressed and encrypted as the manager is configured. Closing seals the file
 * for reading; it does not delete it.
 *
 * @since 0.1
 */
public final class SpillFileWriter
        implements AutoCloseable
{
    private final SpillFile file;
    private final BlockCodec codec;
    private volatile boolean closed;

    SpillFileWriter(SpillFile file, BlockCodec codec)
    {
        this.file = requireNonNull(file, "file is null");
        this.codec = requireNonNull(codec, "codec is null");
    }

    /** Same as {@link #write(byte[], int, int)} for the whole array. */
    public void write(byte[] block)
    {
        requireNonNull(block, "block is null");
        write(block, 0, block.length);
    }

    /**
     * Appends one block, which may be empty. The caller may reuse the array once this returns.
     *
     * @throws MemoryLimitExceededException with {@link ErrorCode#EXCEEDED_SPILL_LIMIT} if the block would take the
     *         query or the node over its spill limit; nothing was written and no counter changed
     * @throws UncheckedIOException if the disk write failed; the file and the counters are as they were
     * @throws IllegalStateException if this writer was closed or the file was released
     */
    public void write(byte[] block, int offset, int length)
    {
        requireNonNull(block, "block is null");
        if (offset < 0 || length < 0 || offset > block.length - length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", length " + length + ", array of " + block.length);
        }
        file.append(this, codec, block, offset, length);
    }

    /** The file written. */
    public SpillFile file()
    {
        return file;
    }

    boolean isClosed()
    {
        return closed;
    }

    /** Seals the file for reading. Idempotent. */
    @Override
    public void close()
    {
        closed = true;
        file.writerClosed();
    }
}
