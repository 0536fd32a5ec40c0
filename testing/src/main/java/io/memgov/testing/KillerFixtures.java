package io.memgov.testing;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Killer inputs from tables, for tests of killers (and of anything else that reads the cluster view): {@code queries(Map.of("q1", Map.of("n2", 8L)))} is query {@code q1} holding
 * 8 bytes on node {@code n2} (as its single task {@code q1.n2}), and every node listed anywhere gets one general pool
 * of {@link #DEFAULT_POOL_BYTES} whose reservations are the table's sums.
 *
 * @since 1.0
 */
public final class KillerFixtures
{
    public static final long DEFAULT_POOL_BYTES = 12;

    private KillerFixtures() {}

    /**
     * Query, then node, then bytes; each query has one task per node, whose local id is the node's id. A query with no
     * node has no task (a query just admitted).
     */
    public static Cluster queries(Map<String, Map<String, Long>> bytesByQueryAndNode)
    {
        Map<String, Map<String, Map<String, Long>>> tasks = new TreeMap<>();
        bytesByQueryAndNode.forEach((query, byNode) -> {
            Map<String, Map<String, Long>> queryTasks = tasks.computeIfAbsent(query, ignored -> new TreeMap<>());
            byNode.forEach((node, bytes) -> queryTasks.computeIfAbsent(node, ignored -> new TreeMap<>()).put(node, bytes));
        });
        return new Cluster(tasks);
    }

    /** Query, then node, then local task id, then bytes. A query with no node or no task has no task. */
    public static Cluster tasks(Map<String, Map<String, Map<String, Long>>> bytesByQueryNodeAndTask)
    {
        return new Cluster(bytesByQueryNodeAndTask);
    }

    public static QueryId query(String id)
    {
        return QueryId.of(id);
    }

    /** {@code "q1.t2"} is task {@code t2} of query {@code q1}. */
    public static TaskId task(String id)
    {
        return TaskId.valueOf(id);
    }

    public static Set<TaskId> taskSet(String... ids)
    {
        Set<TaskId> tasks = new HashSet<>();
        for (String id : ids) {
            tasks.add(task(id));
        }
        return tasks;
    }

    /** A context with a {@link TestingClock} at {@link TestingClock#START} and a {@link TestingScheduler} on it. */
    public static TestingClusterContext context()
    {
        return new TestingClusterContext();
    }

    /** A cluster described by a table, plus the per-query and per-task facts the table does not carry. */
    public static final class Cluster
    {
        private final Map<String, Map<String, Map<String, Long>>> bytes = new TreeMap<>();
        private final Map<String, RetryPolicy> retryPolicies = new HashMap<>();
        private final Set<String> speculativeTasks = new HashSet<>();
        private final Map<String, Duration> executionTimes = new HashMap<>();
        private final Set<String> notRunning = new HashSet<>();
        private long poolBytes = DEFAULT_POOL_BYTES;

        private Cluster(Map<String, Map<String, Map<String, Long>>> bytes)
        {
            bytes.forEach((query, byNode) -> {
                Map<String, Map<String, Long>> queryTasks = this.bytes.computeIfAbsent(query, ignored -> new TreeMap<>());
                byNode.forEach((node, byTask) -> queryTasks.put(node, new TreeMap<>(byTask)));
            });
        }

        /** Every node's general pool gets this budget. */
        public Cluster poolBytes(long poolBytes)
        {
            this.poolBytes = poolBytes;
            return this;
        }

        public Cluster retryPolicy(String query, RetryPolicy retryPolicy)
        {
            retryPolicies.put(query, retryPolicy);
            return this;
        }

        /** Marks tasks, written {@code q1.t2}, as speculative. */
        public Cluster speculative(String... tasks)
        {
            speculativeTasks.addAll(List.of(tasks));
            return this;
        }

        /** How long a task, written {@code q1.t2}, has run; zero unless set. */
        public Cluster executionTime(String task, Duration executionTime)
        {
            executionTimes.put(task, executionTime);
            return this;
        }

        /** The query still holds its memory in the pools but is left out of the running list (it just ended). */
        public Cluster notRunning(String query)
        {
            notRunning.add(query);
            return this;
        }

        /** Running queries in query id order, so that "first in the list" is predictable. */
        public List<RunningQueryInfo> runningQueries()
        {
            List<RunningQueryInfo> queries = new ArrayList<>();
            bytes.forEach((query, byNode) -> {
                if (notRunning.contains(query)) {
                    return;
                }
                QueryId queryId = query(query);
                Map<TaskId, TaskMemoryInfo> tasks = new HashMap<>();
                long total = 0;
                Duration longest = Duration.ZERO;
                for (Map.Entry<String, Map<String, Long>> node : byNode.entrySet()) {
                    for (Map.Entry<String, Long> entry : node.getValue().entrySet()) {
                        TaskId taskId = TaskId.of(queryId, entry.getKey());
                        Duration executionTime = executionTimes.getOrDefault(taskId.toString(), Duration.ZERO);
                        tasks.put(taskId, new TaskMemoryInfo(
                                taskId,
                                NodeId.of(node.getKey()),
                                entry.getValue(),
                                0,
                                speculativeTasks.contains(taskId.toString()),
                                executionTime));
                        total += entry.getValue();
                        longest = executionTime.compareTo(longest) > 0 ? executionTime : longest;
                    }
                }
                queries.add(new RunningQueryInfo(
                        queryId,
                        "user",
                        total,
                        tasks,
                        retryPolicies.getOrDefault(query, RetryPolicy.NONE),
                        0,
                        Instant.EPOCH,
                        longest,
                        false));
            });
            return List.copyOf(queries);
        }

        /** Every node named in the table, in node id order, each with one general pool; zero entries are left out. */
        public List<NodeMemoryInfo> nodes()
        {
            Set<String> nodeIds = new TreeSet<>();
            bytes.values().forEach(byNode -> nodeIds.addAll(byNode.keySet()));
            List<NodeMemoryInfo> nodes = new ArrayList<>();
            for (String node : nodeIds) {
                Map<QueryId, Long> byQuery = new HashMap<>();
                Map<TaskId, Long> byTask = new HashMap<>();
                long reserved = 0;
                for (Map.Entry<String, Map<String, Map<String, Long>>> query : bytes.entrySet()) {
                    for (Map.Entry<String, Long> task : query.getValue().getOrDefault(node, Map.of()).entrySet()) {
                        if (task.getValue() == 0) {
                            continue;
                        }
                        QueryId queryId = query(query.getKey());
                        byQuery.merge(queryId, task.getValue(), Long::sum);
                        byTask.put(TaskId.of(queryId, task.getKey()), task.getValue());
                        reserved += task.getValue();
                    }
                }
                MemoryPoolInfo pool = new MemoryPoolInfo("general", poolBytes, reserved, 0, byQuery, Map.of(), Map.of(), byTask, Map.of());
                nodes.add(NodeMemoryInfo.of(NodeId.of(node), pool));
            }
            return List.copyOf(nodes);
        }
    }
}
