package io.memgov.engine.internal.visibility;

/**
 * A pool as JMX shows it, under {@code io.memgov:type=MemoryPool,engine=<engine>,node=<node>,name=<pool>} for one
 * node's pool and {@code io.memgov:type=ClusterMemoryPool,engine=<engine>,name=<pool>} for the sum over the nodes.
 * Bytes throughout; every read takes a fresh snapshot.
 */
public interface MemoryPoolMXBean
{
    long getMaxBytes();

    long getReservedBytes();

    long getReservedRevocableBytes();

    long getFreeBytes();

    /** Nodes on which this pool is blocked: 0 or 1 for one node's pool. */
    int getBlockedNodes();

    /** Queries holding memory in this pool. */
    int getAssignedQueries();

    /** Nodes that have this pool: 1 for one node's pool. */
    int getNodes();
}
