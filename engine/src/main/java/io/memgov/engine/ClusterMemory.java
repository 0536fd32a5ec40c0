package io.memgov.engine;

import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.killer.KillTarget;

import java.util.List;
import java.util.Optional;

/**
 * The cluster loop as a host sees it: its counters, its last decisions, and a way to run a round now. The loop runs
 * by itself every {@code memory.cluster.poll-interval}; {@link #process()} is for hosts that drive it and for tests.
 * Thread-safe.
 */
public interface ClusterMemory
{
    /**
     * Runs one round now: publishes this engine's node snapshots and, if this engine holds the coordinator role, runs
     * the loop over every node (leak check, distributed limits, killers, pool assignment). Rounds never overlap.
     */
    void process();

    /** The target of the last kill while it may still hold memory: nothing else is killed meanwhile. */
    Optional<KillTarget> lastKillTarget();

    /** What the coordinator carries from round to round, and hands to the next coordinator. */
    CoordinatorState coordinatorState();

    /** The pool assignment in force: which pool each query runs in, by version. */
    MemoryPoolAssignment assignment();

    /** The running queries the assignment in force places in {@code poolId} (Presto's {@code AssignedQueries}). */
    long assignedQueries(String poolId);

    long queriesKilledDueToOutOfMemory();

    long tasksKilledDueToOutOfMemory();

    /** User bytes reserved over every pool of every node, as the last round read them. */
    long clusterUserMemoryReservation();

    /** User plus revocable bytes reserved over every pool of every node, as the last round read them. */
    long clusterTotalMemoryReservation();

    /** Nodes whose general pool was blocked in the last round. */
    int blockedNodes();

    /** Queries the leak detector flagged in the last round. */
    int numberOfLeakedQueries();

    /** The nodes as the last round read them. */
    List<NodeMemoryInfo> lastNodes();

    /**
     * The running queries as the last round of this coordinator read them, in the order the nodes list them: each
     * one's bytes, the distributed limits in force for it and its cumulative memory. Empty before the first round and
     * on an engine that does not hold the coordinator role.
     */
    List<ClusterQueryMemory> queries();
}
