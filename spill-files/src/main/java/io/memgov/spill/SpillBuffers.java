package io.memgov.spill;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The buffers spill writers batch frames in and readers read ahead into, kept for reuse after their writer or reader
 * closes. Direct, because the JDK copies a heap buffer into a temporary direct one on every channel read and write;
 * pooled and never freed, because a direct buffer's memory goes back only when the garbage collector finds it, and a
 * spill file may live for milliseconds. All pools share one budget of direct memory; once it is spent, writers and
 * readers get small heap buffers, which work as well but cost a copy and more system calls. Thread-safe.
 *
 * <p>The sizes were measured with {@code SpillBenchmark} (Linux 6.18, ext4, page cache, 64 KB and 1 MB blocks).
 */
final class SpillBuffers
{
    /** A writer's: four 64 KB frames per system call. */
    static final int WRITE_BUFFER_BYTES = 256 * 1024;
    /**
     * A writer's once it writes a frame larger than {@link #WRITE_BUFFER_BYTES}: 1 MB blocks written in 256 KB pieces
     * ran at 0.93 of a raw channel's speed, in 1 MB pieces at 1.0.
     */
    static final int LARGE_WRITE_BUFFER_BYTES = 1024 * 1024;
    /** A reader's: reads of 160 KB or more ran 20 to 25% slower than reads of 128 KB, on 64 KB and 1 MB blocks alike. */
    static final int READ_BUFFER_BYTES = 128 * 1024;
    /** What a writer or reader gets once the direct budget is spent. */
    static final int HEAP_BUFFER_BYTES = 16 * 1024;

    /**
     * The JVM's pools: a sixteenth of the heap's maximum (the JDK's default {@code MaxDirectMemorySize} is the heap's
     * maximum), at most 64 MB, so that spilling never runs the JVM out of direct memory.
     */
    static final SpillBuffers SHARED = new SpillBuffers(Math.min(64L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 16));

    private final long directBytesLimit;
    // guarded by this
    private long directBytes;
    private final ArrayDeque<ByteBuffer> idleWrite = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> idleLargeWrite = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> idleRead = new ArrayDeque<>();

    SpillBuffers(long directBytesLimit)
    {
        this.directBytesLimit = directBytesLimit;
    }

    /** A cleared buffer for a writer, owned by the caller until it {@link #give gives} it back. */
    ByteBuffer takeWrite()
    {
        ByteBuffer buffer = takeDirect(idleWrite, WRITE_BUFFER_BYTES);
        return buffer == null ? ByteBuffer.allocate(HEAP_BUFFER_BYTES) : buffer;
    }

    /** A cleared {@link #LARGE_WRITE_BUFFER_BYTES} buffer, or null when the budget cannot spare one. */
    ByteBuffer takeLargeWrite()
    {
        return takeDirect(idleLargeWrite, LARGE_WRITE_BUFFER_BYTES);
    }

    /** A cleared buffer for a reader, owned by the caller until it {@link #give gives} it back. */
    ByteBuffer takeRead()
    {
        ByteBuffer buffer = takeDirect(idleRead, READ_BUFFER_BYTES);
        return buffer == null ? ByteBuffer.allocate(HEAP_BUFFER_BYTES) : buffer;
    }

    /** Gives a buffer back; the caller must not touch it again. A heap buffer is left to the collector. */
    synchronized void give(ByteBuffer buffer)
    {
        if (buffer.isDirect()) {
            idle(buffer.capacity()).addFirst(buffer);
        }
    }

    synchronized int idleBuffers(int bufferBytes)
    {
        return idle(bufferBytes).size();
    }

    synchronized long directBytes()
    {
        return directBytes;
    }

    private ByteBuffer takeDirect(ArrayDeque<ByteBuffer> idle, int bufferBytes)
    {
        synchronized (this) {
            ByteBuffer buffer = idle.pollFirst();
            if (buffer != null) {
                return buffer.clear();
            }
            if (directBytes + bufferBytes > directBytesLimit) {
                return null;
            }
            directBytes += bufferBytes;
        }
        try {
            return ByteBuffer.allocateDirect(bufferBytes);
        }
        catch (OutOfMemoryError e) {
            // "Cannot reserve direct buffer memory": others took it; nothing was allocated, so a heap buffer will do
            synchronized (this) {
                directBytes -= bufferBytes;
            }
            return null;
        }
    }

    private ArrayDeque<ByteBuffer> idle(int bufferBytes)
    {
        return switch (bufferBytes) {
            case WRITE_BUFFER_BYTES -> idleWrite;
            case LARGE_WRITE_BUFFER_BYTES -> idleLargeWrite;
            case READ_BUFFER_BYTES -> idleRead;
            default -> throw new IllegalArgumentException("Not a spill buffer size: " + bufferBytes);
        };
    }
}
