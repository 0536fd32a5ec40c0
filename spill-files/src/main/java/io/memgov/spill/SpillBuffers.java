package io.memgov.spill;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Buffers of one size that spill writers batch frames in and readers read ahead into, kept for reuse after their
 * writer or reader closes. Direct, because the JDK copies a heap buffer into a temporary direct one on every channel
 * read and write; pooled and never freed, because a direct buffer's memory goes back only when the garbage collector
 * finds it, and a spill file may live for milliseconds. The JVM's spill buffers share one budget of direct memory,
 * {@link #DIRECT_BYTES_LIMIT}; once it is spent, {@link #take} hands out small heap buffers, which work as well but
 * cost a copy and more system calls. Thread-safe.
 */
final class SpillBuffers
{
    /** A writer's: several 64 KB frames per system call, and a 1 MB block in four. */
    static final int WRITE_BUFFER_BYTES = 256 * 1024;
    /**
     * A reader's: what the kernel copies in one read stays in the core's cache until it is copied out, where a larger
     * read-ahead was measured slower; a larger frame is copied out in several reads.
     */
    static final int READ_BUFFER_BYTES = 128 * 1024;
    /** What a writer or reader gets once the direct budget is spent. */
    static final int HEAP_BUFFER_BYTES = 16 * 1024;
    /**
     * Direct memory for all spill buffers of this JVM: a sixteenth of the heap's maximum (the JDK's default
     * {@code MaxDirectMemorySize} is the heap's maximum), at most 64 MB, so that spilling never runs the JVM out of
     * direct memory.
     */
    static final long DIRECT_BYTES_LIMIT = Math.min(64L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 16);

    private static final AtomicLong DIRECT_BYTES = new AtomicLong();

    static final SpillBuffers WRITE = new SpillBuffers(WRITE_BUFFER_BYTES, DIRECT_BYTES, DIRECT_BYTES_LIMIT);
    static final SpillBuffers READ = new SpillBuffers(READ_BUFFER_BYTES, DIRECT_BYTES, DIRECT_BYTES_LIMIT);

    private final int bufferBytes;
    private final AtomicLong directBytes;
    private final long directBytesLimit;
    private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();

    /**
     * @param directBytes the direct memory taken by every pool sharing the budget; grows, never shrinks
     */
    SpillBuffers(int bufferBytes, AtomicLong directBytes, long directBytesLimit)
    {
        this.bufferBytes = bufferBytes;
        this.directBytes = directBytes;
        this.directBytesLimit = directBytesLimit;
    }

    /** A cleared buffer, owned by the caller until it {@link #give gives} it back: a direct one while the budget lasts. */
    ByteBuffer take()
    {
        synchronized (idle) {
            ByteBuffer buffer = idle.pollFirst();
            if (buffer != null) {
                return buffer.clear();
            }
        }
        if (directBytes.addAndGet(bufferBytes) <= directBytesLimit) {
            try {
                return ByteBuffer.allocateDirect(bufferBytes);
            }
            catch (OutOfMemoryError e) {
                // "Cannot reserve direct buffer memory": others took it; nothing was allocated, so a heap buffer will do
            }
        }
        directBytes.addAndGet(-bufferBytes);
        return ByteBuffer.allocate(Math.min(bufferBytes, HEAP_BUFFER_BYTES));
    }

    /** Gives a buffer back; the caller must not touch it again. A heap buffer is left to the collector. */
    void give(ByteBuffer buffer)
    {
        if (buffer.isDirect()) {
            synchronized (idle) {
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
