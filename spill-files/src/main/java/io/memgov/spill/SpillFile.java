package io.memgov.spill;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import javax.crypto.SecretKey;

import static java.util.Objects.requireNonNull;

/**
 * One spill file of one query, created by {@link SpillFileManager#create}. Its life: one {@link #newWriter() writer}
 * appends blocks and is closed; then any number of {@link #newReader() readers} return the blocks in the order they
 * were written; {@link #close()} deletes the file and gives its bytes back to the query's and the node's spill
 * limits. Closing is idempotent, and happens to every file of a query when the manager
 * {@link SpillFileManager#releaseQuery releases} it.
 *
 * <p>Thread-safe; a writer is meant for one thread at a time, a reader for one thread.
 *
 * @since 0.1
 */
public final class SpillFile
        implements AutoCloseable
{
    private enum State
    {
        EMPTY, WRITING, SEALED, DELETED
    }

    private final SpillFileManager manager;
    private final SpillFileManager.QuerySpill query;
    private final TaskId taskId;
    private final String tag;
    private final Path path;

    // guarded by this
    private State state = State.EMPTY;
    private FileChannel channel;
    private long sizeBytes;
    private long blockCount;

    SpillFile(SpillFileManager manager, SpillFileManager.QuerySpill query, TaskId taskId, String tag, Path path)
    {
        this.manager = requireNonNull(manager, "manager is null");
        this.query = requireNonNull(query, "query is null");
        this.taskId = taskId;
        this.tag = requireNonNull(tag, "tag is null");
        this.path = requireNonNull(path, "path is null");
    }

    public QueryId queryId()
    {
        return query.queryId;
    }

    /** The task that spilled, when the file was created for one. */
    public Optional<TaskId> taskId()
    {
        return Optional.ofNullable(taskId);
    }

    public String tag()
    {
        return tag;
    }

    /** Where the file is; it no longer exists once the file is deleted. */
    public Path path()
    {
        return path;
    }

    /** Bytes on disk, as charged to the spill limits. */
    public synchronized long sizeBytes()
    {
        return sizeBytes;
    }

    /** Blocks written so far. */
    public synchronized long blockCount()
    {
        return blockCount;
    }

    public synchronized boolean isDeleted()
    {
        return state == State.DELETED;
    }

    /**
     * Opens the file's only writer.
     *
     * @throws IllegalStateException if a writer was already opened, or the file or its query was released
     */
    public synchronized SpillFileWriter newWriter()
    {
        if (state != State.EMPTY) {
            throw new IllegalStateException("Spill file " + path + " already had a writer or was deleted (" + state + ")");
        }
        BlockCodec codec = new BlockCodec(manager.config().compression(), key(), manager.random());
        try {
            channel = FileChannel.open(path, StandardOpenOption.WRITE);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot open spill file " + path, e);
        }
        state = State.WRITING;
        return new SpillFileWriter(this, codec);
    }

    /**
     * Opens a reader over the blocks written; the writer must be closed (a file never written reads as empty).
     *
     * @throws IllegalStateException while the writer is open, or once the file or its query was released
     */
    public synchronized SpillFileReader newReader()
    {
        if (state == State.WRITING || state == State.DELETED) {
            throw new IllegalStateException("Spill file " + path + " cannot be read: " + (state == State.WRITING ? "its writer is still open" : "it was deleted"));
        }
        return new SpillFileReader(path, new BlockCodec(SpillCompression.NONE, key(), manager.random()));
    }

    /** Deletes the file and returns its bytes to the limits. Idempotent. */
    @Override
    public synchronized void close()
    {
        if (state == State.DELETED) {
            return;
        }
        state = State.DELETED;
        closeChannel();
        SpillFileManager.deleteQuietly(path);
        manager.fileDeleted(this, sizeBytes);
    }

    @Override
    public String toString()
    {
        return "SpillFile[" + path + ", query " + query.queryId + ", " + tag + ", " + sizeBytes + "B]";
    }

    SpillFileManager.QuerySpill querySpill()
    {
        return query;
    }

    /** Appends one block: charge the limits, write, and undo the charge if the write fails. */
    synchronized void append(SpillFileWriter writer, BlockCodec codec, byte[] block, int offset, int length)
    {
        if (state != State.WRITING || writer.isClosed()) {
            throw new IllegalStateException("Spill file " + path + " is not open for writing (" + (writer.isClosed() ? "writer closed" : state) + ")");
        }
        byte[] frame = codec.encode(block, offset, length, blockCount);
        // throws MemoryLimitExceededException before anything is written
        manager.reserve(query, frame.length);
        long position = sizeBytes;
        try {
            ByteBuffer buffer = ByteBuffer.wrap(frame);
            while (buffer.hasRemaining()) {
                channel.write(buffer, position + buffer.position());
            }
        }
        catch (IOException | RuntimeException e) {
            try {
                channel.truncate(position);
            }
            catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            manager.unreserve(query, frame.length);
            if (e instanceof IOException ioException) {
                throw new UncheckedIOException("Cannot write to spill file " + path, ioException);
            }
            throw (RuntimeException) e;
        }
        sizeBytes += frame.length;
        blockCount++;
    }

    synchronized void writerClosed()
    {
        if (state == State.WRITING) {
            state = State.SEALED;
            closeChannel();
        }
    }

    private SecretKey key()
    {
        if (!manager.config().encryptionEnabled()) {
            return null;
        }
        SecretKey key = query.key;
        if (key == null || query.released) {
            throw new IllegalStateException("Spill files of query " + query.queryId + " were released");
        }
        return key;
    }

    private void closeChannel()
    {
        if (channel != null) {
            try {
                channel.close();
            }
            catch (IOException ignored) {
                // the file is sealed or deleted; nothing is lost by a failed close
            }
            channel = null;
        }
    }
}
