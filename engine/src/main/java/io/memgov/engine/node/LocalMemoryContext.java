package io.memgov.engine.node;

import io.memgov.spi.pool.MemoryFuture;

/**
 * One operator's bytes of one kind (user, system or revocable). The operator reports what it holds now; the context
 * carries the difference to the task, the query, the tracker and the pool.
 *
 * <p>Thread-safe; calls on one context are serialized. Each call either fully applies or changes nothing.
 */
public interface LocalMemoryContext
        extends AutoCloseable
{
    /** Bytes this context holds. */
    long bytes();

    /**
     * Sets the bytes held to {@code bytes}.
     *
     * @return a future that is done unless the pool is full, in which case the operator should stop allocating until
     *         it completes (the bytes are recorded either way)
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException if the context is closed
     * @throws io.memgov.spi.MemoryLimitExceededException if a limit would be passed; nothing changed
     * @throws io.memgov.spi.QueryKilledException if the query was killed
     */
    MemoryFuture setBytes(long bytes);

    /** Adds {@code delta} (which may be negative) to the bytes held; see {@link #setBytes(long)}. */
    default MemoryFuture addBytes(long delta)
    {
        return setBytes(Math.addExact(bytes(), delta));
    }

    /**
     * Sets the bytes held only if that neither passes a limit nor over-commits the pool. Lowering always succeeds.
     *
     * @return true if set, false if refused (nothing changed)
     */
    boolean trySetBytes(long bytes);

    /** Releases what the context holds. Idempotent. */
    @Override
    void close();
}
