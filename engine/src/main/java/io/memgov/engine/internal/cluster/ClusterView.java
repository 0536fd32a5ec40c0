package io.memgov.engine.internal.cluster;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * The cluster as one round of the loop sees it, built from the nodes' snapshots alone: the pools the killers read,
 * the running queries with their tasks, the queries the leak detector knows, and what each query holds. Built once per
 * round in one pass over the snapshots, so a round costs nodes + queries, not their product.
 */
final class ClusterView
{
    private final List<NodeSnapshot> snapshots;
    private final List<NodeMemoryInfo> nodes;
    private final List<NodeMemoryInfo> nodesLeftToTheLoop;
    private final Map<QueryId, QueryFacts> running = new LinkedHashMap<>();
    private final Map<QueryId, KnownQuery> known = new HashMap<>();
    private final Map<QueryId, Long> userReservations = new HashMap<>();
    private final Map<QueryId, Long> totalReservations = new HashMap<>();
    private final Set<TaskId> tasksHoldingMemory = new HashSet<>();
    private final Instant now;

    ClusterView(List<NodeSnapshot> snapshots, Instant now)
    {
        this.snapshots = List.copyOf(requireNonNull(snapshots, "snapshots is null"));
        this.now = requireNonNull(now, "now is null");
        List<NodeMemoryInfo> infos = new ArrayList<>(this.snapshots.size());
        List<NodeMemoryInfo> notArbitrating = new ArrayList<>(this.snapshots.size());
        Map<QueryId, Instant> ended = new HashMap<>();
        Map<QueryId, QueryState> endStates = new HashMap<>();
        Set<QueryId> failed = new HashSet<>();
        for (NodeSnapshot node : this.snapshots) {
            NodeMemoryInfo info = node.memoryInfo();
            infos.add(info);
            if (!node.arbitrating()) {
                notArbitrating.add(info);
            }
            for (MemoryPoolInfo pool : node.pools()) {
                // a pool's query figure is user plus system memory: the total limit's, not the user limit's
                pool.queryMemoryReservations().forEach((query, bytes) -> totalReservations.merge(query, bytes, ClusterView::saturatedAdd));
                pool.queryMemoryRevocableReservations().forEach((query, bytes) -> totalReservations.merge(query, bytes, ClusterView::saturatedAdd));
                tasksHoldingMemory.addAll(pool.taskMemoryReservations().keySet());
                tasksHoldingMemory.addAll(pool.taskRevocableMemoryReservations().keySet());
            }
            for (QuerySnapshot query : node.queries()) {
                if (query.state() != QueryState.RUNNING) {
                    // the first end reported counts: a query is over once its host said so on any node
                    ended.merge(query.queryId(), query.endTime(), (a, b) -> a.isBefore(b) ? a : b);
                    endStates.putIfAbsent(query.queryId(), query.state());
                    continue;
                }
                if (query.failureCode().isPresent()) {
                    failed.add(query.queryId());
                }
                // user memory apart from system memory, as Presto keeps them, from the node's own accounting
                userReservations.merge(query.queryId(), query.userBytes(), ClusterView::saturatedAdd);
                running.computeIfAbsent(query.queryId(), id -> new QueryFacts(query)).add(node.nodeId(), query);
            }
        }
        this.nodes = List.copyOf(infos);
        this.nodesLeftToTheLoop = List.copyOf(notArbitrating);
        ended.keySet().forEach(running::remove);
        // a query killed or failed on some node but not yet ended by its host: known (so not leaked), not running
        failed.forEach(queryId -> {
            running.remove(queryId);
            known.put(queryId, KnownQuery.running(queryId));
        });
        running.keySet().forEach(queryId -> known.put(queryId, KnownQuery.running(queryId)));
        ended.forEach((queryId, endTime) -> known.put(queryId, KnownQuery.ended(queryId, endStates.get(queryId), endTime)));
    }

    List<NodeSnapshot> snapshots()
    {
        return snapshots;
    }

    /** Every node's pools, in the snapshots' order. */
    List<NodeMemoryInfo> nodes()
    {
        return nodes;
    }

    /**
     * The nodes whose blocked pools are the loop's to resolve: every node but those whose own arbitration was at work
     * when they took their snapshot (a paused or spilling requester is the arbitrator's; a kill from the loop as well
     * would be a second victim for one shortage).
     */
    List<NodeMemoryInfo> nodesLeftToTheLoop()
    {
        return nodesLeftToTheLoop;
    }

    /** The queries that run on some node, were not failed on any and whose end no host reported. */
    Map<QueryId, QueryFacts> running()
    {
        return running;
    }

    /** Every query some node lists: running, failed and not yet ended, or recently ended. */
    Map<QueryId, KnownQuery> known()
    {
        return known;
    }

    /** User bytes (system memory not included) per running query over every node. */
    Map<QueryId, Long> userReservations()
    {
        return userReservations;
    }

    /** User, system and revocable bytes per query over every pool of every node. */
    Map<QueryId, Long> totalReservations()
    {
        return totalReservations;
    }

    boolean holdsMemory(QueryId queryId)
    {
        return totalReservations.getOrDefault(queryId, 0L) > 0;
    }

    boolean holdsMemory(TaskId taskId)
    {
        return tasksHoldingMemory.contains(taskId);
    }

    /** The running queries as the killers and the assigner read them, with their tasks' reservations from the pools. */
    List<RunningQueryInfo> runningQueries()
    {
        Map<TaskId, long[]> taskBytes = new HashMap<>();
        for (NodeMemoryInfo node : nodes) {
            for (MemoryPoolInfo pool : node.pools()) {
                pool.taskMemoryReservations().forEach((task, bytes) -> addTo(taskBytes.computeIfAbsent(task, ignored -> new long[2]), 0, bytes));
                pool.taskRevocableMemoryReservations().forEach((task, bytes) -> addTo(taskBytes.computeIfAbsent(task, ignored -> new long[2]), 1, bytes));
            }
        }
        List<RunningQueryInfo> result = new ArrayList<>(running.size());
        for (QueryFacts query : running.values()) {
            Map<TaskId, TaskMemoryInfo> tasks = new HashMap<>();
            query.tasks.forEach((taskId, placed) -> {
                long[] bytes = taskBytes.getOrDefault(taskId, new long[2]);
                tasks.put(taskId, new TaskMemoryInfo(taskId, placed.nodeId(), bytes[0], bytes[1], placed.task().speculative(), placed.task().executionTime()));
            });
            Duration executionTime = Duration.between(query.startTime, now);
            QuerySnapshot first = query.first;
            result.add(new RunningQueryInfo(first.queryId(), first.user(), totalReservations.getOrDefault(first.queryId(), 0L), tasks,
                    first.retryPolicy(), first.priority(), query.startTime, executionTime.isNegative() ? Duration.ZERO : executionTime, first.resourceOvercommit()));
        }
        return result;
    }

    /**
     * Sums of figures that nodes report saturate at {@link Long#MAX_VALUE} rather than wrap: each figure is bounded on
     * its node, but not their sum over a cluster, and a sum that wrapped negative would pass every limit.
     */
    static long saturatedAdd(long a, long b)
    {
        long sum = a + b;
        // overflow only when both operands have the sign the sum lacks
        if (((a ^ sum) & (b ^ sum)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return sum;
    }

    private static void addTo(long[] sums, int index, long bytes)
    {
        sums[index] = saturatedAdd(sums[index], bytes);
    }

    /** The running queries with a context on the node, per the snapshot. */
    static Set<QueryId> runningOn(NodeSnapshot node)
    {
        Set<QueryId> result = new HashSet<>();
        for (QuerySnapshot query : node.queries()) {
            if (query.isRunning()) {
                result.add(query.queryId());
            }
        }
        return result;
    }

    /** What the loop needs of one running query, merged over the nodes that run it. */
    static final class QueryFacts
    {
        private final QuerySnapshot first;
        private final Map<TaskId, PlacedTask> tasks = new LinkedHashMap<>();
        private final Set<NodeId> nodes = new HashSet<>();
        private Instant startTime;
        private double cumulativeUserMemoryByteSeconds;
        private double cumulativeTotalMemoryByteSeconds;

        private QueryFacts(QuerySnapshot first)
        {
            this.first = first;
            this.startTime = first.startTime();
        }

        private void add(NodeId nodeId, QuerySnapshot query)
        {
            nodes.add(nodeId);
            // Presto's query figure is the sum of its tasks' figures; here, of its nodes'
            cumulativeUserMemoryByteSeconds += query.cumulativeUserMemoryByteSeconds();
            cumulativeTotalMemoryByteSeconds += query.cumulativeTotalMemoryByteSeconds();
            if (query.startTime().isBefore(startTime)) {
                startTime = query.startTime();
            }
            for (TaskSnapshot task : query.tasks()) {
                tasks.putIfAbsent(task.taskId(), new PlacedTask(nodeId, task));
            }
        }

        /** The session facts, as the first node listing the query reported them (every node has the same session). */
        QuerySnapshot session()
        {
            return first;
        }

        Set<NodeId> nodes()
        {
            return nodes;
        }

        /** Presto's cumulative user memory, summed over the nodes running the query, in byte-seconds. */
        double cumulativeUserMemoryByteSeconds()
        {
            return cumulativeUserMemoryByteSeconds;
        }

        /** Presto's cumulative total memory, summed over the nodes running the query, in byte-seconds. */
        double cumulativeTotalMemoryByteSeconds()
        {
            return cumulativeTotalMemoryByteSeconds;
        }
    }

    private record PlacedTask(NodeId nodeId, TaskSnapshot task) {}
}
