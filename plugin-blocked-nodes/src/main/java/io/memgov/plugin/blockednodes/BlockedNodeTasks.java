package io.memgov.plugin.blockednodes;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static java.util.Comparator.comparing;
import static java.util.Objects.requireNonNull;

/**
 * The selection both task killers share: at most one task per blocked node, taken from the tasks of running
 * {@link RetryPolicy#TASK} queries that the node's general pool holds memory for. Speculative tasks come first (they
 * are optional work); among tasks of the same kind the killer's own preference decides, and on a tie the smaller
 * task id wins, so the choice does not depend on the order of the pools' maps. Tasks holding zero bytes are never
 * chosen: killing them frees nothing.
 */
final class BlockedNodeTasks
{
    private BlockedNodeTasks() {}

    /**
     * A task a blocked node holds memory for.
     *
     * @param reservedBytes the user bytes the node's general pool holds for the task
     * @param info what the running query reports about the task; null if the query does not list it
     */
    record Candidate(TaskId taskId, long reservedBytes, TaskMemoryInfo info)
    {
        Candidate
        {
            requireNonNull(taskId, "taskId is null");
        }

        boolean speculative()
        {
            return info != null && info.speculative();
        }

        /** Work lost if the task is killed; zero when the query does not report the task. */
        Duration executionTime()
        {
            return info == null ? Duration.ZERO : info.executionTime();
        }
    }

    /**
     * @param preference orders candidates of the same kind (speculative or not); the greatest is killed
     * @return the chosen tasks, or empty when no query retries tasks or no blocked node holds one of their tasks
     */
    static Optional<KillTarget> choose(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes, Comparator<Candidate> preference)
    {
        Set<QueryId> taskRetry = new HashSet<>();
        Map<TaskId, TaskMemoryInfo> tasks = new HashMap<>();
        for (RunningQueryInfo query : runningQueries) {
            if (query.retryPolicy() == RetryPolicy.TASK) {
                taskRetry.add(query.queryId());
                tasks.putAll(query.tasks());
            }
        }
        if (taskRetry.isEmpty()) {
            return Optional.empty();
        }

        Comparator<Candidate> order = comparing(Candidate::speculative)
                .thenComparing(preference)
                .thenComparing(Candidate::taskId, Comparator.reverseOrder());
        Set<TaskId> victims = new HashSet<>();
        for (NodeMemoryInfo node : nodes) {
            if (!node.isBlocked()) {
                continue;
            }
            Candidate best = null;
            // a task's bytes in every pool that blocks the node: the general pool, the direct pool, or both
            Map<TaskId, Long> blockedBytes = new HashMap<>();
            for (MemoryPoolInfo pool : node.blockedPools()) {
                pool.taskMemoryReservations().forEach((taskId, bytes) -> blockedBytes.merge(taskId, bytes, Long::sum));
            }
            for (Map.Entry<TaskId, Long> entry : blockedBytes.entrySet()) {
                TaskId taskId = entry.getKey();
                if (entry.getValue() <= 0 || !taskRetry.contains(taskId.queryId())) {
                    continue;
                }
                Candidate candidate = new Candidate(taskId, entry.getValue(), tasks.get(taskId));
                if (best == null || order.compare(candidate, best) > 0) {
                    best = candidate;
                }
            }
            if (best != null) {
                victims.add(best.taskId());
            }
        }
        if (victims.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(KillTarget.tasks(victims));
    }
}
