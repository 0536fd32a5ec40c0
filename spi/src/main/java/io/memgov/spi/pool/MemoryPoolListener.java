package io.memgov.spi.pool;

/**
 * Told after a pool's reservations change. Called on the thread that changed them, outside any pool lock; must be
 * quick and must not block (hand work to an executor). Exceptions are logged by the pool and otherwise ignored.
 *
 * @since 1.0
 */
@FunctionalInterface
public interface MemoryPoolListener
{
    /** Called after any reservation or release; {@code pool} is the pool that changed. */
    void onMemoryReserved(MemoryPool pool);
}
