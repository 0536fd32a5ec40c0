package io.memgov.engine.internal.node;

import io.memgov.spi.pool.MemoryFuture;

/**
 * The accounting side of one local memory context: one kind of an operator's memory, or a task's or a query's own
 * memory. It keeps what the host set and what its parents (task, query, tracker and pool) were charged for it, and
 * releases the charge when it is closed or its query or task is killed. The host's
 * {@link io.memgov.engine.LocalMemoryContext} delegates here; the engine releases through here.
 *
 * <p>Thread-safe; each call either fully applies or changes nothing.
 */
interface LocalMemory
{
    /** Bytes the host set last. */
    long bytes();

    /** Bytes its parents hold for it: {@link #bytes()}, or more when it reserves in quanta. */
    long reservedBytes();

    /** See {@link io.memgov.engine.LocalMemoryContext#setBytes}. */
    MemoryFuture setBytes(long bytes);

    /** See {@link io.memgov.engine.LocalMemoryContext#trySetBytes}. */
    boolean trySetBytes(long bytes);

    /**
     * Releases what its parents hold for it; later calls fail. Idempotent.
     *
     * @return the reserved bytes this call released; 0 if it was closed already
     */
    long close();

    /** Releases what its parents hold for it without closing it: its query or task was killed, and later calls fail on that. */
    void forceRelease();

    /**
     * Gives back the part of its reservation it does not need for its bytes (arbitration's reclaim step). Exact
     * memory reserves nothing ahead and gives back nothing.
     *
     * @return the bytes given back to its parents
     */
    default long trimReservation()
    {
        return 0;
    }
}
