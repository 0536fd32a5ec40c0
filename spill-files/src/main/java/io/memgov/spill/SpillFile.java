package io.memgov.spill;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.io.IOException;
import java.io.UncheckedIOException;
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
 * <h2>Format, version 1</h2>
 * Big-endian throughout. A file never written is empty; otherwise:
 * <pre>
 * file        = fileHeader, frame*
 * fileHeader  = magic "MGSF" (0x4D475346), u16 version (1), u8 flags (bit 0: encrypted), u8 0          8 bytes
 * frame       = u32 payloadLength, payload, u32 crc32c
 * crc32c      = CRC32C ({@link java.util.zip.CRC32C}) of the 4 payloadLength bytes, then of the payload
 * payload     = body                                                                 in clear
 *             = iv (12 random bytes), AES-256-GCM(body, aad = u64 block index), tag (16 bytes)   encrypted
 * body        = u8 codec (0 raw, 1 LZ4 block), u32 rawLength, data
 * </pre>
 * A frame's overhead is 13 bytes in clear and 41 encrypted. The checksum covers what is on disk, so a damaged frame
 * is found before anything is decompressed or decrypted, and with encryption it reveals nothing about the plaintext;
 * AES-GCM then authenticates the body, and the block index as associated data makes a reordered or misplaced block
 * fail. It follows the payload so that the writer computes it while it copies the payload, in one pass. The per-block
 * codec byte lets LZ4 leave incompressible blocks as they are. No file outlives its manager (leftovers are deleted at
 * start-up) and keys live only in memory, so the version is there to turn a mismatch into a clear error instead of
 * garbage: a reader refuses another magic, version or encryption flag, naming what it found.
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
    private SpillFileWriter writer;
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

    /**
     * Bytes charged to the spill limits: what the writer wrote to disk and what it holds in its buffer to write next.
     * Once the writer is closed, exactly the file's size on disk.
     */
    public synchronized long sizeBytes()
    {
        return sizeBytes;
    }

    /** Blocks written so far, buffered ones included; a write that fails takes back the blocks it loses. */
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
        channel = open(StandardOpenOption.WRITE);
        state = State.WRITING;
        writer = new SpillFileWriter(this, channel, codec, manager.buffers());
        return writer;
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
        BlockCodec codec = new BlockCodec(SpillCompression.NONE, key(), manager.random());
        return new SpillFileReader(path, open(StandardOpenOption.READ), codec, manager.buffers(), sizeBytes);
    }

    /** Deletes the file and returns its bytes to the limits, those its writer still buffers included. Idempotent. */
    @Override
    public synchronized void close()
    {
        if (state == State.DELETED) {
            return;
        }
        state = State.DELETED;
        if (writer != null) {
            writer.discard();
        }
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

    // --- called by the writer, which holds this file's monitor (file, then manager lock; never the reverse)

    /** Throws unless the writer may append: the file is being written and the writer is open. */
    void checkWritable(SpillFileWriter writer)
    {
        if (state != State.WRITING || writer.isClosed()) {
            throw new IllegalStateException("Spill file " + path + " is not open for writing (" + (writer.isClosed() ? "writer closed" : state) + ")");
        }
    }

    /** Charges a frame about to be buffered or written; throws, changing nothing, when a limit would be crossed. */
    void charge(long bytes)
    {
        manager.reserve(query, bytes);
        sizeBytes += bytes;
        blockCount++;
    }

    /** Takes back frames a failed write lost. */
    void uncharge(long bytes, long blocks)
    {
        manager.unreserve(query, bytes);
        sizeBytes -= bytes;
        blockCount -= blocks;
    }

    /** The writer closed: the file is sealed for reading. */
    void writerClosed()
    {
        if (state == State.WRITING) {
            state = State.SEALED;
            closeChannel();
        }
    }

    private FileChannel open(StandardOpenOption option)
    {
        try {
            return manager.channelOpener().open(path, option);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot open spill file " + path, e);
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
