package io.memgov.engine;

import io.memgov.spi.pool.MemoryFuture;

/**
 * The bytes of one consumer: an operator's of one kind (user, system or revocable), or a task's or a query's own
 * ({@link TaskMemoryContext#localMemory()}, {@link QueryMemoryContext#localMemory()}). The consumer reports what it
 * holds now; the context carries the difference to the levels above it (task, query, tracker and pool).
 *
 * <p>By default ({@code memory.reservation-quantum=adaptive}, see {@link ReservationQuantum}) and with a fixed quantum,
 * the context reserves in quanta: it carries a change up only when the bytes leave its reservation, and the task,
 * query, tracker, pool, limits, killers and snapshots see the reservation ({@link #reservedBytes()}), not the bytes.
 * With {@code 0B} the two are always equal.
 *
 * <p>Thread-safe; each call either fully applies or changes nothing.
 */
public interface LocalMemoryContext
        extends AutoCloseable
{
    /** Bytes this context holds: the last value set. */
    long bytes();

    /**
     * Bytes the task, query, tracker and pool hold for this context: {@link #bytes()} with {@code 0B}; with a quantum
     * (fixed, or adaptive: the quantum for {@code bytes()}), {@code bytes()} rounded up to the quantum, plus up to one
     * more quantum kept after a decrease, and 0 when {@code bytes()} is 0.
     */
    long reservedBytes();

    /**
     * Sets the bytes held to {@code bytes}.
     *
     * @return a future that is done unless the pool is full, in which case the operator should stop allocating until
     *         it completes (the bytes are recorded either way); always done for a change inside the reservation
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException if the context is closed
     * @throws io.memgov.spi.query.MemoryLimitExceededException if a limit would be passed; nothing changed
     * @throws io.memgov.spi.query.QueryKilledException if the query was killed
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
