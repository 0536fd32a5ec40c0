package io.memgov.engine.internal.visibility;

import io.memgov.engine.ClusterMemorySnapshot;
import io.memgov.engine.ClusterQueryMemory;
import io.memgov.engine.internal.cluster.ClusterMemoryManager;

import java.util.List;

import static java.util.Objects.requireNonNull;

/** The cluster loop's counters, for JMX and for the cluster snapshot. */
public final class ClusterMemoryStats
        implements ClusterMemoryManagerMXBean, ClusterMemorySnapshot.LoopCounters
{
    private final ClusterMemoryManager manager;

    public ClusterMemoryStats(ClusterMemoryManager manager)
    {
        this.manager = requireNonNull(manager, "manager is null");
    }

    @Override
    public long queriesKilledDueToOutOfMemory()
    {
        return manager.queriesKilledDueToOutOfMemory();
    }

    @Override
    public long tasksKilledDueToOutOfMemory()
    {
        return manager.tasksKilledDueToOutOfMemory();
    }

    @Override
    public List<ClusterQueryMemory> queries()
    {
        return manager.queries();
    }

    @Override
    public long clusterUserMemoryReservation()
    {
        return manager.clusterUserMemoryReservation();
    }

    @Override
    public long clusterTotalMemoryReservation()
    {
        return manager.clusterTotalMemoryReservation();
    }

    @Override
    public int numberOfLeakedQueries()
    {
        return manager.numberOfLeakedQueries();
    }

    @Override
    public long getQueriesKilledDueToOutOfMemory()
    {
        return queriesKilledDueToOutOfMemory();
    }

    @Override
    public long getTasksKilledDueToOutOfMemory()
    {
        return tasksKilledDueToOutOfMemory();
    }

    @Override
    public long getClusterUserMemoryReservation()
    {
        return clusterUserMemoryReservation();
    }

    @Override
    public long getClusterTotalMemoryReservation()
    {
        return clusterTotalMemoryReservation();
    }

    @Override
    public int getNumberOfLeakedQueries()
    {
        return numberOfLeakedQueries();
    }

    @Override
    public int getBlockedNodes()
    {
        return manager.blockedNodes();
    }
}
