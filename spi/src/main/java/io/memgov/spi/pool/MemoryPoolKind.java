package io.memgov.spi.pool;

/**
 * What memory a pool budgets. A node always has heap pools (its layout: the general pool and, in Presto's layout, the
 * reserved one); a node whose host allocates off-heap through memgov (Arrow Java's buffers, direct
 * {@link java.nio.ByteBuffer}s) may also have one <em>direct</em> pool, with its own maximum, so that neither kind can
 * crowd out the other (Spark keeps on-heap and off-heap execution memory apart the same way; Trino's pools are heap
 * only). Without a direct pool, off-heap memory is counted in the heap pools, as before kinds existed.
 *
 * @since 1.1
 */
public enum MemoryPoolKind
{
    /** The JVM heap: the node's layout pools. */
    HEAP,
    /** Memory outside the heap ({@code -XX:MaxDirectMemorySize}, Arrow's allocator): the node's direct pool. */
    DIRECT,
}
