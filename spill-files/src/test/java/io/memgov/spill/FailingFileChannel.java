package io.memgov.spill;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

import static java.util.Objects.requireNonNull;

/**
 * A real file channel whose disk fills up: it writes the first {@code bytesBeforeFailure} bytes it is given, the write
 * that crosses that mark writes its part up to the mark and then fails, as a write into a full disk does, and so does
 * every later write.
 */
final class FailingFileChannel
        extends FileChannel
{
    private final FileChannel delegate;
    private long bytesLeft;

    FailingFileChannel(FileChannel delegate, long bytesBeforeFailure)
    {
        this.delegate = requireNonNull(delegate, "delegate is null");
        this.bytesLeft = bytesBeforeFailure;
    }

    @Override
    public int write(ByteBuffer source)
            throws IOException
    {
        if (source.remaining() <= bytesLeft) {
            int written = delegate.write(source);
            bytesLeft -= written;
            return written;
        }
        ByteBuffer part = source.duplicate();
        part.limit(part.position() + (int) bytesLeft);
        while (part.hasRemaining()) {
            delegate.write(part);
        }
        source.position(part.position());
        bytesLeft = 0;
        throw new IOException("No space left on device");
    }

    @Override
    public long write(ByteBuffer[] sources, int offset, int length)
            throws IOException
    {
        long written = 0;
        for (int i = offset; i < offset + length; i++) {
            written += write(sources[i]);
        }
        return written;
    }

    @Override
    public int write(ByteBuffer source, long position)
    {
        throw new UnsupportedOperationException("positional writes are not used by the spill writer");
    }

    @Override
    public int read(ByteBuffer target)
            throws IOException
    {
        return delegate.read(target);
    }

    @Override
    public long read(ByteBuffer[] targets, int offset, int length)
            throws IOException
    {
        return delegate.read(targets, offset, length);
    }

    @Override
    public int read(ByteBuffer target, long position)
            throws IOException
    {
        return delegate.read(target, position);
    }

    @Override
    public long position()
            throws IOException
    {
        return delegate.position();
    }

    @Override
    public FileChannel position(long newPosition)
            throws IOException
    {
        delegate.position(newPosition);
        return this;
    }

    @Override
    public long size()
            throws IOException
    {
        return delegate.size();
    }

    @Override
    public FileChannel truncate(long size)
            throws IOException
    {
        delegate.truncate(size);
        return this;
    }

    @Override
    public void force(boolean metaData)
            throws IOException
    {
        delegate.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
    {
        throw new UnsupportedOperationException();
    }

    @Override
    public long transferFrom(ReadableByteChannel source, long position, long count)
    {
        throw new UnsupportedOperationException();
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size)
    {
        throw new UnsupportedOperationException();
    }

    @Override
    public FileLock lock(long position, long size, boolean shared)
    {
        throw new UnsupportedOperationException();
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared)
    {
        throw new UnsupportedOperationException();
    }

    @Override
    protected void implCloseChannel()
            throws IOException
    {
        delegate.close();
    }
}
