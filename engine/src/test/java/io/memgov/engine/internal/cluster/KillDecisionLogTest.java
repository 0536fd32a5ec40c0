package io.memgov.engine.internal.cluster;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The nodes part of the kill decision's log line: Trino's per-node MaxBytes, FreeBytes, Queries and Tasks, summarised
 * to the blocked nodes and their largest consumers so that a round at 1,000 nodes does not format megabytes.
 */
final class KillDecisionLogTest
{
    @Test
    void showsOnlyBlockedNodesWithTheirLargestQueriesAndTasks()
    {
        List<NodeMemoryInfo> nodes = new ArrayList<>();
        for (int node = 0; node < 20; node++) {
            // node-3 is over-committed by 15 queries of 100 to 1,500 bytes; the others are nearly empty
            int queries = node == 3 ? 15 : 1;
            nodes.add(node("node-" + node, 1000, queries));
        }

        String text = ClusterMemoryManager.describeNodes(nodes);

        assertThat(text).startsWith("Blocked nodes (1 of 20): [node-3: MaxBytes 1000, FreeBytes -11000, Queries {q14=1500, q13=1400, ");
        assertThat(text).contains("q5=600} and 5 more, Tasks {q14.0=1500, ");
        assertThat(text).doesNotContain("q4=", "node-0", "node-4");
        assertThat(text).endsWith("and 5 more]");
    }

    @Test
    void aSmallClusterWithNoBlockedNodeShowsEveryNode()
    {
        String text = ClusterMemoryManager.describeNodes(List.of(node("node-0", 1000, 2), node("node-1", 1000, 1)));

        assertThat(text).isEqualTo("Nodes: [node-0: MaxBytes 1000, FreeBytes 700, Queries {q1=200, q0=100}, Tasks {q1.0=200, q0.0=100}; "
                + "node-1: MaxBytes 1000, FreeBytes 900, Queries {q0=100}, Tasks {q0.0=100}]");
    }

    @Test
    void aLargeClusterWithNoBlockedNodeShowsNoNode()
    {
        List<NodeMemoryInfo> nodes = new ArrayList<>();
        for (int node = 0; node < 50; node++) {
            nodes.add(node("node-" + node, 1000, 1));
        }

        assertThat(ClusterMemoryManager.describeNodes(nodes)).isEqualTo("Blocked nodes (0 of 50): []");
    }

    private static NodeMemoryInfo node(String id, long max, int queries)
    {
        Map<QueryId, Long> perQuery = new HashMap<>();
        Map<TaskId, Long> perTask = new HashMap<>();
        long reserved = 0;
        for (int query = 0; query < queries; query++) {
            QueryId queryId = QueryId.of("q" + query);
            long bytes = 100L * (query + 1);
            perQuery.put(queryId, bytes);
            perTask.put(TaskId.of(queryId, "0"), bytes);
            reserved += bytes;
        }
        return NodeMemoryInfo.of(NodeId.of(id), new MemoryPoolInfo("general", max, reserved, 0, perQuery, Map.of(), Map.of(), perTask, Map.of()));
    }
}
