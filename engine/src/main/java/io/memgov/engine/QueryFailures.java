package io.memgov.engine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.util.Objects.requireNonNull;

/**
 * Fails queries on every node and tells the host's listeners. Node policies (a reserve-mode pool, an overcommit
 * tracker) and the cluster loop all fail queries through here, so the host hears about each failure once.
 */
final class QueryFailures
        implements QueryFailer
{
    private static final Logger log = LoggerFactory.getLogger(QueryFailures.class);

    private final List<QueryFailureListener> listeners = new CopyOnWriteArrayList<>();
    private final List<NodeMemoryManager> nodes;
    // queries already reported failed: two callers failing one query at once (two nodes' arbitrations) may each fail
    // it on some node, and only the first reports it; kept as long as a node remembers an ended query
    private final Cache<QueryId, Boolean> reported = Caffeine.newBuilder()
            .expireAfterWrite(NodeMemoryManager.ENDED_QUERY_RETENTION)
            .maximumSize(100_000)
            .build();

    QueryFailures(List<NodeMemoryManager> nodes)
    {
        this.nodes = List.copyOf(nodes);
    }

    void addListener(QueryFailureListener listener)
    {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    @Override
    public boolean fail(QueryId queryId, ErrorCode errorCode, String message)
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(errorCode, "errorCode is null");
        requireNonNull(message, "message is null");
        boolean failed = false;
        for (NodeMemoryManager node : nodes) {
            failed |= node.failQuery(queryId, errorCode, message);
        }
        if (!failed || reported.asMap().putIfAbsent(queryId, Boolean.TRUE) != null) {
            return false;
        }
        log.info("Query {} failed with {}: {}", queryId, errorCode, message);
        notifyListeners(queryId, Set.of(), errorCode, message);
        return true;
    }

    /**
     * Applies a command of the cluster loop to this engine's nodes; a command applied twice changes nothing the second
     * time. Called by the cluster transport, on any thread.
     */
    void apply(ClusterCommand command)
    {
        requireNonNull(command, "command is null");
        if (command instanceof ClusterCommand.KillQuery kill) {
            fail(kill.queryId(), kill.errorCode(), kill.message());
        }
        else if (command instanceof ClusterCommand.KillTasks kill) {
            for (TaskId taskId : kill.taskIds()) {
                boolean killedHere = false;
                for (NodeMemoryManager node : nodes) {
                    killedHere |= node.failTask(taskId, kill.errorCode(), kill.message());
                }
                if (killedHere) {
                    notifyListeners(taskId.queryId(), Set.of(taskId), kill.errorCode(), kill.message());
                }
            }
        }
        else if (command instanceof ClusterCommand.AssignPools assign) {
            for (NodeMemoryManager node : nodes) {
                try {
                    node.applyAssignment(assign.assignment());
                }
                catch (RuntimeException e) {
                    // like an unreachable worker: the node keeps its version and the loop delivers it again next round
                    log.error("Node {} failed to apply memory pool assignment version {}", node.nodeId(), assign.assignment().version(), e);
                }
            }
        }
    }

    void notifyListeners(QueryId queryId, Set<TaskId> tasks, ErrorCode errorCode, String message)
    {
        for (QueryFailureListener listener : listeners) {
            try {
                listener.onQueryFailed(queryId, tasks, errorCode, message);
            }
            catch (RuntimeException e) {
                log.warn("Query failure listener {} failed for query {}", listener, queryId, e);
            }
        }
    }
}
