package io.memgov.spill;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;

import static java.util.Objects.requireNonNull;

/**
 * Returns a {@link SpillFile}'s blocks in the order they were written, decrypted and decompressed. Not thread-safe.
 * Read errors, including a block that fails authentication, surface as {@link UncheckedIOException}.
 *
 * @since 0.1
 */
public final class SpillFileReader
        implements Iterator<byte[]>, AutoCloseable
{
    private static final int BUFFER_BYTES = 64 * 1024;

    private final Path path;
    private final BlockCodec codec;
    private DataInputStream input;
    private byte[] next;
    private long blockIndex;

    SpillFileReader(Path path, BlockCodec codec)
    {
        this.path = requireNonNull(path, "path is null");
        this.codec = requireNonNull(codec, "codec is null");
        try {
            InputStream stream = Files.newInputStream(path);
            this.input = new DataInputStream(new BufferedInputStream(stream, BUFFER_BYTES));
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot open spill file " + path, e);
        }
    }

    @Override
    public boolean hasNext()
    {
        if (next == null && input != null) {
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

    @Override
    public void close()
    {
        if (input != null) {
            try {
                input.close();
            }
            catch (IOException ignored) {
                // read-only; nothing to lose
            }
            input = null;
        }
    }

    private byte[] readBlock()
    {
        try {
            int first = input.read();
            if (first < 0) {
                close();
                return null;
            }
            int payloadLength = (first << 24) | (input.readUnsignedByte() << 16) | (input.readUnsignedByte() << 8) | input.readUnsignedByte();
            if (payloadLength < 0) {
                throw new IOException("Spill block " + blockIndex + " has a negative length: " + payloadLength);
            }
            byte[] payload = new byte[payloadLength];
            input.readFully(payload);
            return codec.decode(payload, blockIndex++);
        }
        catch (EOFException e) {
            close();
            throw new UncheckedIOException("Spill file " + path + " is truncated in block " + blockIndex, e);
        }
        catch (IOException e) {
            close();
            throw new UncheckedIOException("Cannot read spill file " + path, e);
        }
    }
}
