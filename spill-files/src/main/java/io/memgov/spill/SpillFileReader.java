package io.memgov.spill;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;

import static java.util.Objects.requireNonNull;

/**
 * Returns a {@link SpillFile}'s blocks in the order they were written, checked, decrypted and decompressed. Reads
 * ahead 128 KB at a time into a direct buffer from a pool the JVM's managers share, which goes back on
 * {@link #close}. Not thread-safe.
 *
 * <p>Read errors surface as {@link UncheckedIOException}: {@code Spill file <path> is damaged: ...} when a block fails
 * its CRC32C checksum or its authentication, is cut short, or does not decode, and {@code Cannot read spill file
 * <path>} when the disk fails.
 *
 * @since 0.1
 */
public final class SpillFileReader
        implements Iterator<byte[]>, AutoCloseable
{
    private final Path path;
    private final BlockCodec codec;
    private final SpillBuffers buffers;
    // what the writer wrote and was charged for; anything after it is not the file's
    private final long endPosition;
    private final byte[] bodyHeader = new byte[BlockCodec.BODY_HEADER_BYTES];

    private FileChannel channel;
    // unread bytes between position and limit; taken from the pool on the first read
    private ByteBuffer buffer;
    // file offset of the buffer's limit
    private long bufferEnd;
    // reused for every payload not read straight into its block
    private byte[] payload = new byte[0];
    private byte[] next;
    private long blockIndex;

    SpillFileReader(Path path, FileChannel channel, BlockCodec codec, SpillBuffers buffers, long endPosition)
    {
        this.path = requireNonNull(path, "path is null");
        this.channel = requireNonNull(channel, "channel is null");
        this.codec = requireNonNull(codec, "codec is null");
        this.buffers = requireNonNull(buffers, "buffers is null");
        this.endPosition = endPosition;
    }

    @Override
    public boolean hasNext()
    {
        if (next == null && channel != null) {
            next = readBlock();
        }
        return next != null;
    }

    /** The next block, a fresh array the caller owns. */
    @Override
    public byte[] next()
    {
        if (!hasNext()) {
            throw new NoSuchElementException("No more blocks in spill file " + path);
        }
        byte[] block = next;
        next = null;
        return block;
    }

    /** Closes the file and gives the buffer back. Idempotent; the reader then has no more blocks. */
    @Override
    public void close()
    {
        if (channel != null) {
            try {
                channel.close();
            }
            catch (IOException ignored) {
                // read-only; nothing to lose
            }
            channel = null;
        }
        if (buffer != null) {
            buffers.give(buffer);
            buffer = null;
        }
    }

    private byte[] readBlock()
    {
        try {
            if (buffer == null) {
                if (endPosition == 0) {
                    close();
                    return null;
                }
                buffer = buffers.takeRead().flip();
                fill(BlockCodec.FILE_HEADER_BYTES);
                codec.checkFileHeader(buffer);
            }
            if (position() == endPosition) {
                close();
                return null;
            }
            byte[] block = readFrame();
            blockIndex++;
            return block;
        }
        catch (EOFException e) {
            close();
            throw new UncheckedIOException("Spill file " + path + " is damaged: it is cut short in block " + blockIndex, e);
        }
        catch (SpillFileDamagedException e) {
            close();
            throw new UncheckedIOException("Spill file " + path + " is damaged: " + e.getMessage(), e);
        }
        catch (IOException e) {
            close();
            throw new UncheckedIOException("Cannot read spill file " + path, e);
        }
        catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private byte[] readFrame()
            throws IOException
    {
        long left = endPosition - position() - BlockCodec.LENGTH_BYTES - BlockCodec.CHECKSUM_BYTES;
        if (left < 0) {
            throw new SpillFileDamagedException("block " + blockIndex + " starts " + (endPosition - position()) + " bytes before the end, too close for a frame");
        }
        fill(BlockCodec.LENGTH_BYTES);
        int payloadLength = buffer.getInt();
        if (payloadLength < codec.minimumPayloadBytes() || payloadLength > left) {
            throw new SpillFileDamagedException("block " + blockIndex + " declares a payload of " + payloadLength + " bytes, where " + left
                    + " bytes are left and at least " + codec.minimumPayloadBytes() + " are needed");
        }
        codec.startChecksum(payloadLength);
        if (!codec.encrypted()) {
            fill(BlockCodec.BODY_HEADER_BYTES);
            if (BlockCodec.isRaw(buffer.get(buffer.position()))) {
                return readRawBody(payloadLength);
            }
        }
        if (payload.length < payloadLength) {
            payload = new byte[payloadLength];
        }
        read(payload, 0, payloadLength);
        verifyChecksum();
        return codec.decode(payload, payloadLength, blockIndex);
    }

    /** A block stored as it is and in clear goes straight into its array: one copy, as a raw read would make. */
    private byte[] readRawBody(int payloadLength)
            throws IOException
    {
        buffer.get(bodyHeader);
        codec.updateChecksum(bodyHeader, 0, bodyHeader.length);
        int rawLength = BlockCodec.getInt(bodyHeader, 1);
        // payloadLength is bounded by the file's size, rawLength not yet: size the array by the former
        byte[] block = new byte[payloadLength - BlockCodec.BODY_HEADER_BYTES];
        read(block, 0, block.length);
        verifyChecksum();
        if (rawLength != block.length) {
            throw new SpillFileDamagedException("block " + blockIndex + " says it holds " + rawLength + " bytes, but its frame holds " + block.length);
        }
        return block;
    }

    private void verifyChecksum()
            throws IOException
    {
        fill(BlockCodec.CHECKSUM_BYTES);
        codec.verifyChecksum(buffer.getInt(), blockIndex);
    }

    /** Copies the next {@code length} bytes into {@code target}, adding them to the checksum. */
    private void read(byte[] target, int offset, int length)
            throws IOException
    {
        while (length > 0) {
            if (!buffer.hasRemaining()) {
                fill(1);
            }
            int chunk = Math.min(length, buffer.remaining());
            buffer.get(target, offset, chunk);
            codec.updateChecksum(target, offset, chunk);
            offset += chunk;
            length -= chunk;
        }
    }

    /** Makes the buffer hold at least {@code bytes} unread bytes, reading as much as fits. */
    private void fill(int bytes)
            throws IOException
    {
        if (buffer.remaining() >= bytes) {
            return;
        }
        // at most a frame header is left to move
        buffer.compact();
        while (buffer.position() < bytes) {
            int read = channel.read(buffer);
            if (read < 0) {
                buffer.flip();
                throw new EOFException("end of file at " + bufferEnd + " of " + endPosition + " bytes");
            }
            bufferEnd += read;
        }
        buffer.flip();
    }

    /** File offset of the next unread byte. */
    private long position()
    {
        return bufferEnd - buffer.remaining();
    }
}
