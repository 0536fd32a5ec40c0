package io.memgov.spill;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers of one size, kept for reuse after their writer or reader closes. Direct, because the JDK copies a
 * heap buffer into a temporary direct one on every channel read and write; pooled, because a direct buffer's memory
 * is freed only when the garbage collector finds it, and a spill file may live for milliseconds. At most
 * {@link #MAX_IDLE_BUFFERS} idle buffers are kept; more are left to the collector. Thread-safe.
 */
final class SpillBuffers
{
    /** A writer's: several 64 KB frames per system call. */
    static final int WRITE_BUFFER_BYTES = 256 * 1024;
    /**
     * A reader's: what the kernel copies in one read stays in the core's cache until it is copied out, where a larger
     * read-ahead was measured slower; a larger frame is copied out in several reads.
     */
    static final int READ_BUFFER_BYTES = 64 * 1024;
    static final int MAX_IDLE_BUFFERS = 16;

    private final int bufferBytes;
    private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();

    SpillBuffers(int bufferBytes)
    {
        this.bufferBytes = bufferBytes;
    }

    /** A cleared buffer, owned by the caller until it gives it back. */
    ByteBuffer take()
    {
        synchronized (idle) {
            ByteBuffer buffer = idle.pollFirst();
            if (buffer != null) {
                return buffer.clear();
            }
        }
        return ByteBuffer.allocateDirect(bufferBytes);
    }

    /** Gives a buffer back; the caller must not touch it again. */
    void give(ByteBuffer buffer)
    {
        synchronized (idle) {
            if (idle.size() < MAX_IDLE_BUFFERS) {
                idle.addFirst(buffer);
            }
        }
    }

    int idleBuffers()
    {
        synchronized (idle) {
            return idle.size();
        }
    }
}
