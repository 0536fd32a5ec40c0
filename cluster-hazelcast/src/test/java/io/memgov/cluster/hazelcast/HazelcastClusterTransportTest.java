package io.memgov.cluster.hazelcast;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Engines in this JVM, each with its own node ({@code node.id}) and its own Hazelcast member, joined by
 * {@code cluster.transport.policy=hazelcast}: the cluster loop of one of them governs the nodes of all.
 */
final class HazelcastClusterTransportTest
{
    private static final long MB = 1 << 20;
    // the engines' poll interval: the transport follows it
    private static final Duration POLL_INTERVAL = Duration.ofMillis(200);
    private static final Duration TWO_POLL_INTERVALS = POLL_INTERVAL.multipliedBy(2);

    private final TestCluster cluster = new TestCluster();
    private final List<MemoryEngine> engines = new ArrayList<>();

    /** A query failure an engine told its host about. */
    private record Failure(String engine, QueryId queryId, ErrorCode errorCode) {}

    private final BlockingQueue<Failure> failures = new LinkedBlockingQueue<>();
    // held until the test ends: a context the host drops is released by the engine's cleaner
    private final List<OperatorMemoryContext> operators = new ArrayList<>();

    @AfterEach
    void closeEngines()
    {
        // youngest first, as TestCluster does: no wait for a new Hazelcast master on the way out
        for (int i = engines.size() - 1; i >= 0; i--) {
            engines.get(i).close();
        }
        cluster.close();
    }

    private MemoryEngine engine(String nodeId)
    {
        Map<String, String> properties = new HashMap<>();
        properties.put("node.id", nodeId);
        properties.put("node.heap-governed", "false");
        properties.put("node.heap-size", "100MB");
        properties.put("memory.heap-headroom-per-node", "0B");
        properties.put("query.max-memory-per-node", "100MB");
        properties.put("memory.cluster.poll-interval", "200ms");
        properties.put("cluster.transport.policy", "hazelcast");
        cluster.properties().forEach((key, value) -> {
            if (!key.equals("poll-interval")) {
                properties.put("cluster.transport.hazelcast." + key, value);
            }
        });
        MemoryEngine engine = MemoryEngine.builder().properties(properties).withoutJmx().build();
        engines.add(engine);
        engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> failures.add(new Failure(nodeId, queryId, errorCode)));
        return engine;
    }

    private OperatorMemoryContext reserve(MemoryEngine engine, String queryId, long bytes)
    {
        QueryMemoryContext query = engine.node(0).createQuery(QueryId.of(queryId), QuerySession.of("user"));
        OperatorMemoryContext operator = query.addTask("0." + engine.node(0).nodeId()).addOperator("HashAggregation");
        operator.userMemory().setBytes(bytes);
        operators.add(operator);
        return operator;
    }

    private static List<String> nodesSeenBy(MemoryEngine coordinator)
    {
        return coordinator.cluster().lastNodes().stream().map(node -> node.nodeId().toString()).toList();
    }

    @Test
    @Timeout(60)
    void theCoordinatorKillsOnAnotherEngineAndItsStateFollowsTheRole()
    {
        MemoryEngine a = engine("a1");
        MemoryEngine b = engine("b1");
        assertThat(a.policyName(PolicyFamily.CLUSTER_TRANSPORT)).isEqualTo("hazelcast");
        await().atMost(Duration.ofSeconds(5)).until(() -> nodesSeenBy(a).equals(List.of("a1", "b1")));
        assertThat(nodesSeenBy(b)).isEmpty();

        // b1 blocked: 70MB + 50MB of 100MB; the coordinator (a, the oldest member) kills the largest query, which runs on b1
        reserve(b, "q1", 70 * MB);
        reserve(b, "q2", 50 * MB);

        await().atMost(Duration.ofSeconds(5)).until(() -> !failures.isEmpty());
        assertThat(failures.poll()).isEqualTo(new Failure("b1", QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY));
        assertThat(a.cluster().queriesKilledDueToOutOfMemory()).isEqualTo(1);
        assertThat(b.node(0).pool().reservedBytes()).isEqualTo(50 * MB);

        // the coordinator leaves: b takes the role with a's state, so it knows q1 was its last victim
        a.close();
        await().atMost(TWO_POLL_INTERVALS.plusSeconds(1)).until(() -> nodesSeenBy(b).equals(List.of("b1")));
        assertThat(b.cluster().coordinatorState().killedQueries()).containsExactly(QueryId.of("q1"));
        assertThat(b.cluster().queriesKilledDueToOutOfMemory()).isZero();
        // the kill it sent again changed nothing: b1 had failed q1 already
        assertThat(failures).isEmpty();
    }

    @Test
    @Timeout(60)
    void theQueriesOfANodeThatLeavesFailWithNodeLostOnTheOthers()
    {
        MemoryEngine a = engine("a1");
        MemoryEngine b = engine("b1");
        MemoryEngine c = engine("c1");
        reserve(b, "spans-b-and-c", 10 * MB);
        reserve(c, "spans-b-and-c", 20 * MB);
        reserve(b, "only-on-b", 5 * MB);
        reserve(a, "on-a", 1 * MB);
        await().atMost(Duration.ofSeconds(5)).until(() -> a.cluster().clusterUserMemoryReservation() == 36 * MB);

        c.close();

        await().atMost(TWO_POLL_INTERVALS.plusSeconds(1)).until(() -> nodesSeenBy(a).equals(List.of("a1", "b1")));
        await().atMost(Duration.ofSeconds(2)).until(() -> !failures.isEmpty());
        assertThat(failures.poll()).isEqualTo(new Failure("b1", QueryId.of("spans-b-and-c"), ErrorCode.NODE_LOST));
        // the coordinator's own kill for the same loss found it failed already
        await().during(TWO_POLL_INTERVALS).atMost(TWO_POLL_INTERVALS.plusSeconds(1)).until(failures::isEmpty);
        assertThat(b.node(0).pool().reservedBytes()).isEqualTo(5 * MB);
        await().atMost(TWO_POLL_INTERVALS).until(() -> a.cluster().clusterUserMemoryReservation() == 6 * MB);
        assertThat(a.cluster().lastNodes()).extracting(NodeMemoryInfo::nodeId).extracting(Object::toString).containsExactly("a1", "b1");
    }
}
