package io.memgov.spill;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

import static java.util.Objects.requireNonNull;

/**
 * Appends blocks of bytes to a {@link SpillFile}; each block comes back whole, in order, from a
 * {@link SpillFileReader}. Blocks are compressed and encrypted as the manager is configured. Closing seals the file
 * for reading; it does not delete it.
 *
 * <p><b>Batching.</b> Frames are gathered in a direct buffer of 256 KB (1 MB from the first block larger than that) and
 * written when it is full, a larger block passing through it in buffer-sized writes, and whatever is left on
 * {@link #close}. Each block is charged to the
 * spill limits when {@link #write} takes it, so a limit fails the write that would cross it, before anything is
 * buffered. An I/O error may therefore surface on a later {@code write} or on {@code close}: the blocks not yet wholly
 * on disk are then lost, the file is cut back to the blocks before them (what {@link SpillFile#blockCount()} then
 * says), their bytes are given back to the limits, and the writer refuses further blocks. The buffer comes from a
 * pool the JVM's managers share, and goes back on close.
 *
 * <p>For one thread at a time; {@link SpillFile#close()} from another thread drops what is buffered.
 *
 * @since 0.1
 */
public final class SpillFileWriter
        implements AutoCloseable
{
    /** The largest block: its frame's length must fit the format's 32 bits, with room for LZ4's and AES-GCM's overhead. */
    public static final int MAX_BLOCK_BYTES = Integer.MAX_VALUE - 64 * 1024 * 1024;

    private final SpillFile file;
    private final FileChannel channel;
    private final BlockCodec codec;
    private final SpillBuffers buffers;
    private volatile boolean closed;

    // guarded by the file's monitor
    private ByteBuffer buffer;
    private boolean headerCharged;
    // what the file has been charged for, and the part of it that is whole frames on disk
    private long chargedBytes;
    private long chargedBlocks;
    private long committedBytes;
    private long committedBlocks;
    private Exception failure;

    SpillFileWriter(SpillFile file, FileChannel channel, BlockCodec codec, SpillBuffers buffers)
    {
        this.file = requireNonNull(file, "file is null");
        this.channel = requireNonNull(channel, "channel is null");
        this.codec = requireNonNull(codec, "codec is null");
        this.buffers = requireNonNull(buffers, "buffers is null");
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
     *         query or the node over its spill limit; nothing was written or buffered and no counter changed
     * @throws UncheckedIOException if writing the buffer failed; the file and the counters hold the blocks before the
     *         lost ones, as the class describes
     * @throws IllegalStateException if this writer was closed or failed, or the file was released
     * @throws IllegalArgumentException if the block is larger than {@link #MAX_BLOCK_BYTES}
     */
    public void write(byte[] block, int offset, int length)
    {
        requireNonNull(block, "block is null");
        if (offset < 0 || length < 0 || offset > block.length - length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", length " + length + ", array of " + block.length);
        }
        if (length > MAX_BLOCK_BYTES) {
            throw new IllegalArgumentException("A spill block holds at most " + MAX_BLOCK_BYTES + " bytes: " + length);
        }
        synchronized (file) {
            file.checkWritable(this);
            if (failure != null) {
                throw new IllegalStateException("Spill file " + file.path() + " lost blocks to a failed write; it takes no more", failure);
            }
            codec.encode(block, offset, length, chargedBlocks);
            long frameBytes = codec.frameBytes() + (headerCharged ? 0 : BlockCodec.FILE_HEADER_BYTES);
            // throws MemoryLimitExceededException before anything is buffered
            file.charge(frameBytes);
            long frameStart = chargedBytes;
            chargedBytes += frameBytes;
            chargedBlocks++;
            try {
                append(frameStart);
            }
            catch (IOException | RuntimeException e) {
                throw fail(e);
            }
        }
    }

    /** The file written. */
    public SpillFile file()
    {
        return file;
    }

    /**
     * Writes what is buffered and seals the file for reading. Idempotent.
     *
     * @throws UncheckedIOException if the last write failed; the file is sealed with the blocks before the lost ones
     */
    @Override
    public void close()
    {
        synchronized (file) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (failure == null && buffer != null && buffer.position() > 0) {
                    try {
                        flush(chargedBytes, chargedBlocks);
                    }
                    catch (IOException | RuntimeException e) {
                        throw fail(e);
                    }
                }
            }
            finally {
                releaseBuffer();
                file.writerClosed();
            }
        }
    }

    boolean isClosed()
    {
        return closed;
    }

    /** The file was deleted under the writer: what it buffers is dropped (the file gives back every charged byte). */
    void discard()
    {
        releaseBuffer();
    }

    /**
     * Copies the frame {@link BlockCodec#encode} made into the buffer, writing the buffer out whenever it fills, and
     * checksums each piece just before it goes in, so that the data is read from memory once; the checksum follows
     * the payload.
     */
    private void append(long frameStart)
            throws IOException
    {
        if (buffer == null) {
            buffer = buffers.takeWrite();
        }
        if (!headerCharged) {
            // the first frame, so the buffer is empty
            codec.putFileHeader(buffer);
            headerCharged = true;
        }
        // until the frame's last byte is in the buffer, a flush puts on disk only the frames before it
        long blocksBefore = chargedBlocks - 1;
        if (codec.frameBytes() > buffer.capacity() && buffer.capacity() < SpillBuffers.LARGE_WRITE_BUFFER_BYTES) {
            // large blocks: write them in large pieces, if the budget has a large buffer
            ByteBuffer large = buffers.takeLargeWrite();
            if (large != null) {
                large.put(buffer.flip());
                buffers.give(buffer);
                buffer = large;
            }
        }
        if (buffer.remaining() < codec.prefixLength) {
            flush(frameStart, blocksBefore);
        }
        buffer.put(codec.prefix, 0, codec.prefixLength);
        codec.startChecksum();
        codec.updateChecksum(codec.prefix, 0, codec.prefixLength);
        int offset = codec.dataOffset;
        int left = codec.dataLength;
        while (left > 0) {
            if (!buffer.hasRemaining()) {
                flush(frameStart, blocksBefore);
            }
            int length = Math.min(left, buffer.remaining());
            // checksum first: the copy then reads the piece from cache
            codec.updateChecksum(codec.data, offset, length);
            buffer.put(codec.data, offset, length);
            offset += length;
            left -= length;
        }
        if (buffer.remaining() < BlockCodec.CHECKSUM_BYTES) {
            flush(frameStart, blocksBefore);
        }
        buffer.putInt(codec.checksum());
        if (!buffer.hasRemaining()) {
            flush(chargedBytes, chargedBlocks);
        }
    }

    /** Writes the whole buffer; afterwards the file holds whole frames up to {@code bytes}, {@code blocks} of them. */
    private void flush(long bytes, long blocks)
            throws IOException
    {
        buffer.flip();
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
        committedBytes = bytes;
        committedBlocks = blocks;
    }

    /**
     * Undoes what a failed write left unfinished: cuts the file back to its whole frames on disk and gives the rest
     * back to the limits. The writer takes no more blocks.
     */
    private RuntimeException fail(Exception e)
    {
        long lostBlocks = chargedBlocks - committedBlocks;
        try {
            channel.truncate(committedBytes);
            channel.position(committedBytes);
        }
        catch (IOException | RuntimeException suppressed) {
            // readers stop at the charged size, so a tail left behind is never read; the disk gets it back on delete
            e.addSuppressed(suppressed);
        }
        file.uncharge(chargedBytes - committedBytes, lostBlocks);
        chargedBytes = committedBytes;
        chargedBlocks = committedBlocks;
        if (buffer != null) {
            buffer.clear();
        }
        failure = e;
        if (e instanceof IOException ioException) {
            return new UncheckedIOException("Cannot write to spill file " + file.path() + ": " + lostBlocks + " blocks not yet on disk are lost; it keeps its first "
                    + committedBlocks + " blocks and takes no more", ioException);
        }
        return (RuntimeException) e;
    }

    private void releaseBuffer()
    {
        if (buffer != null) {
            buffers.give(buffer);
            buffer = null;
        }
    }
}
