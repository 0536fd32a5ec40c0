package io.memgov.engine.internal.visibility;

/** The cluster loop's counters under {@code io.memgov:type=ClusterMemoryManager,engine=<engine>}. */
public interface ClusterMemoryManagerMXBean
{
    long getQueriesKilledDueToOutOfMemory();

    long getTasksKilledDueToOutOfMemory();

    /** User memory of running queries summed over the nodes, as of the last round. */
    long getClusterUserMemoryReservation();

    /** User, system and revocable memory of running queries summed over the nodes, as of the last round. */
    long getClusterTotalMemoryReservation();

    int getNumberOfLeakedQueries();

    /** Nodes whose general pool was blocked in the last round. */
    int getBlockedNodes();
}
