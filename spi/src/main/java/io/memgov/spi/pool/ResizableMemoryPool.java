package io.memgov.spi.pool;

/**
 * A pool whose budget can change at run time: reserve mode follows available memory, a heap observer shrinks the
 * budget by what nobody tracked. The engine and other policies find this role with {@code instanceof}; a pool with a
 * fixed budget does not implement it.
 *
 * @since 1.0
 */
public interface ResizableMemoryPool
        extends MemoryPool
{
    /**
     * Changes the budget. Growing it wakes blocked callers if free bytes become positive; shrinking it never fails
     * and never releases anything, it only makes later callers block (and may make the node blocked). Thread-safe;
     * may be called from any thread, concurrently with reservations.
     *
     * @param maxBytes non-negative
     * @throws IllegalArgumentException if {@code maxBytes} is negative
     */
    void setMaxBytes(long maxBytes);
}
