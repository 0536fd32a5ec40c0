package com.example.memgov.killer;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.query.NodeId;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Kills the running query with the most tasks on blocked nodes: the query whose death unblocks the most nodes at once.
 * A task counts when it runs on a blocked node and holds at least {@code minTaskBytes} there (user plus revocable).
 * Ties go to the query holding more bytes in its counted tasks, then to the one listed first. A query with no counted
 * task is never chosen, so nothing is killed when no node is blocked.
 *
 * <p>Where Trino's {@code total-reservation} kills the largest query wherever its memory is, this killer prefers a
 * query spread thin over every blocked node to a large one that blocks only some of them. Stateless; the cluster loop
 * calls it from one thread.
 */
final class MostTasksOnBlockedNodesLowMemoryKiller
        implements LowMemoryKiller
{
    private final long minTaskBytes;

    MostTasksOnBlockedNodesLowMemoryKiller(long minTaskBytes)
    {
        if (minTaskBytes < 1) {
            throw new IllegalArgumentException("minTaskBytes is less than 1: " + minTaskBytes);
        }
        this.minTaskBytes = minTaskBytes;
    }

    @Override
    public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        Set<NodeId> blockedNodes = new HashSet<>();
        for (NodeMemoryInfo node : nodes) {
            if (node.isBlocked()) {
                blockedNodes.add(node.nodeId());
            }
        }
        RunningQueryInfo victim = null;
        int victimTasks = 0;
        long victimBytes = 0;
        for (RunningQueryInfo query : runningQueries) {
            int tasks = 0;
            long bytes = 0;
            for (TaskMemoryInfo task : query.tasks().values()) {
                long held = task.reservedBytes() + task.revocableBytes();
                if (blockedNodes.contains(task.nodeId()) && held >= minTaskBytes) {
                    tasks++;
                    bytes += held;
                }
            }
            // strict comparisons: on a full tie the query listed first stays the victim
            if (tasks > victimTasks || (tasks == victimTasks && tasks > 0 && bytes > victimBytes)) {
                victim = query;
                victimTasks = tasks;
                victimBytes = bytes;
            }
        }
        return Optional.ofNullable(victim).map(query -> KillTarget.wholeQuery(query.queryId()));
    }

    @Override
    public String toString()
    {
        return MostTasksOnBlockedNodesLowMemoryKillerFactory.NAME + "(min-task-bytes=" + minTaskBytes + ")";
    }
}
