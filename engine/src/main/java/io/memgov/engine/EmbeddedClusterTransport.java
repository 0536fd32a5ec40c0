package io.memgov.engine;

import io.memgov.engine.cluster.ClusterTransport;
import io.memgov.engine.node.ClusterQueries;
import io.memgov.engine.node.NodeMemoryManager;
import io.memgov.engine.node.QueryMemoryContext;
import io.memgov.engine.node.TaskMemoryContext;
import io.memgov.spi.assignment.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
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
 * The cluster loop's view of an embedded cluster: nodes read in memory, kills delivered by direct calls.
 */
final class EmbeddedClusterTransport
        implements ClusterTransport
{
    private static final Logger log = LoggerFactory.getLogger(EmbeddedClusterTransport.class);

    private final List<NodeMemoryManager> nodes;
    private final ClusterQueries queries;
    private final QueryFailures failures;
    private final Clock clock;

    EmbeddedClusterTransport(List<NodeMemoryManager> nodes, ClusterQueries queries, QueryFailures failures, Clock clock)
    {
        this.nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
        this.queries = requireNonNull(queries, "queries is null");
        this.failures = requireNonNull(failures, "failures is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public List<NodeMemoryInfo> readNodes()
    {
        return nodes.stream().map(NodeMemoryManager::info).toList();
    }

    @Override
    public List<RunningQueryInfo> runningQueries(List<NodeMemoryInfo> nodeInfos)
    {
        Instant now = clock.instant();
        Map<QueryId, Map<TaskId, TaskMemoryInfo>> tasksByQuery = new HashMap<>();
        Map<QueryId, Long> totals = new HashMap<>();
        // collected in the same pass over the nodes, so that the list costs nodes + query contexts, not queries x nodes
        Set<QueryId> failed = new HashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            NodeMemoryManager node = nodes.get(i);
            List<MemoryPoolInfo> pools = nodeInfos.get(i).pools();
            for (QueryMemoryContext query : node.queries()) {
                if (query.failure().isPresent()) {
                    failed.add(query.queryId());
                }
                for (TaskMemoryContext task : query.tasks()) {
                    TaskId taskId = task.taskId();
                    // a task's reservations are in the one pool its query runs in; summing finds it wherever that is
                    long user = pools.stream().mapToLong(pool -> pool.taskMemoryReservations().getOrDefault(taskId, 0L)).sum();
                    long revocable = pools.stream().mapToLong(pool -> pool.taskRevocableMemoryReservations().getOrDefault(taskId, 0L)).sum();
                    Duration executionTime = task.elapsed();
                    tasksByQuery.computeIfAbsent(taskId.queryId(), ignored -> new HashMap<>())
                            .put(taskId, new TaskMemoryInfo(taskId, node.nodeId(), user, revocable, task.isSpeculative(), executionTime));
                }
            }
            for (MemoryPoolInfo anyPool : nodeInfos.get(i).pools()) {
                anyPool.queryMemoryReservations().forEach((query, bytes) -> totals.merge(query, bytes, Long::sum));
                anyPool.queryMemoryRevocableReservations().forEach((query, bytes) -> totals.merge(query, bytes, Long::sum));
            }
        }
        List<RunningQueryInfo> running = new ArrayList<>();
        for (ClusterQueries.QueryRecord query : queries.running().values()) {
            if (failed.contains(query.queryId())) {
                continue;
            }
            Duration executionTime = Duration.between(query.startTime(), now);
            running.add(new RunningQueryInfo(
                    query.queryId(),
                    query.session().user(),
                    totals.getOrDefault(query.queryId(), 0L),
                    tasksByQuery.getOrDefault(query.queryId(), Map.of()),
                    query.session().retryPolicy(),
                    query.session().priority(),
                    query.startTime(),
                    executionTime.isNegative() ? Duration.ZERO : executionTime,
                    query.session().resourceOvercommit()));
        }
        return running;
    }

    @Override
    public Map<NodeId, Long> assignPools(MemoryPoolAssignment assignment)
    {
        Map<NodeId, Long> applied = new LinkedHashMap<>();
        for (NodeMemoryManager node : nodes) {
            try {
                node.applyAssignment(assignment);
                applied.put(node.nodeId(), node.assignmentVersion());
            }
            catch (RuntimeException e) {
                // like an unreachable worker: the node keeps its version and the loop delivers it again next round
                log.error("Node {} failed to apply memory pool assignment version {}", node.nodeId(), assignment.version(), e);
            }
        }
        return applied;
    }

    @Override
    public boolean killQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        return failures.fail(queryId, errorCode, message);
    }

    @Override
    public boolean killTasks(Set<TaskId> taskIds, ErrorCode errorCode, String message)
    {
        boolean killed = false;
        for (TaskId taskId : taskIds) {
            boolean killedHere = false;
            for (NodeMemoryManager node : nodes) {
                killedHere |= node.failTask(taskId, errorCode, message);
            }
            if (killedHere) {
                failures.notifyListeners(taskId.queryId(), Set.of(taskId), errorCode, message);
            }
            killed |= killedHere;
        }
        return killed;
    }
}
