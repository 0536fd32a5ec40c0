package io.memgov.plugin.arbitration;

import io.memgov.engine.ArbitrationSnapshot;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.spill.RevocableConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The bundled arbitrators on an engine: a reservation that leaves a node's pool without room is resolved at once, by
 * spilling first, pausing, or killing only when nothing else made room. The cluster loop never runs here (1h poll), so
 * whatever happens is the arbitration's doing.
 */
@Timeout(60)
final class ArbitrationEngineTest
{
    private static final long MB = 1024 * 1024;

    private final ExecutorService spillers = Executors.newCachedThreadPool();
    private final List<Object> held = new ArrayList<>();

    @AfterEach
    void tearDown()
    {
        spillers.shutdownNow();
    }

    @Test
    void spillFirstGrantsTheRequesterOnceAnotherQuerySpillsAndKillsNobody()
    {
        try (MemoryEngine engine = engine("spill-first", Map.of())) {
            NodeMemory node = engine.node(0);
            OperatorMemoryContext aggregation = operator(node, "q1", "HashAggregation");
            aggregation.setRevocableConsumer(spillingConsumer(aggregation));
            aggregation.revocableMemory().setBytes(8 * MB);

            MemoryFuture blocked = operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MB);

            assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
            // the pool can signal before the spilling thread's call returns
        await().atMost(Duration.ofSeconds(5)).until(() -> aggregation.revocableMemory().bytes() == 0);
            assertThat(failure(node, "q1")).isNull();
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.arbitrationSnapshot().revokeRequests() == 1);
            ArbitrationSnapshot snapshot = engine.arbitrationSnapshot();
            assertThat(snapshot.arbitrator()).isEqualTo("spill-first");
            assertThat(snapshot.kills()).isZero();
        }
    }

    @Test
    void spillFirstKillsTheLargestQueryWhenNothingCanSpill()
    {
        try (MemoryEngine engine = engine("spill-first", Map.of())) {
            NodeMemory node = engine.node(0);
            operator(node, "big", "TableScan").userMemory().setBytes(8 * MB);

            MemoryFuture blocked = operator(node, "small", "HashBuilder").userMemory().setBytes(5 * MB);

            assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
            QueryKilledException killed = failure(node, "big");
            assertThat(killed.errorCode()).isEqualTo(ErrorCode.MEMORY_ARBITRATION_FAILED);
            assertThat(killed.getMessage())
                    .startsWith("Query killed by memory arbitrator 'spill-first' on node-0: query small asked for 5MB on a full pool, and reclaiming and spilling "
                            + "could not make room; this query held 8MB")
                    .contains("steps: killed big holding 8MB");
            assertThat(failure(node, "small")).isNull();
            assertThat(node.pool().info().reservedBytes()).isEqualTo(5 * MB);
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.arbitrationSnapshot().kills() == 1);
        }
    }

    @Test
    void pauseResumesTheRequesterWhenAnotherQueryEnds()
    {
        try (MemoryEngine engine = engine("pause", Map.of("memory.arbitrator.pause.pause-timeout", "20s"))) {
            NodeMemory node = engine.node(0);
            OperatorMemoryContext scan = operator(node, "q1", "TableScan");
            scan.userMemory().setBytes(8 * MB);
            MemoryFuture blocked = operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MB);
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.arbitrationSnapshot().pauses() == 1);

            queries.get("q1").close();

            assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
            assertThat(failure(node, "q2")).isNull();
            assertThat(engine.arbitrationSnapshot().failures()).isZero();
        }
    }

    @Test
    void pauseFailsTheRequesterAfterItsTimeoutAndTheOtherQueryGoesOn()
    {
        try (MemoryEngine engine = engine("pause", Map.of("memory.arbitrator.pause.pause-timeout", "300ms"))) {
            NodeMemory node = engine.node(0);
            operator(node, "q1", "TableScan").userMemory().setBytes(8 * MB);
            operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MB);

            await().atMost(Duration.ofSeconds(10)).until(() -> failure(node, "q2") != null);
            QueryKilledException failed = failure(node, "q2");
            assertThat(failed.errorCode()).isEqualTo(ErrorCode.MEMORY_ARBITRATION_FAILED);
            assertThat(failed.getMessage()).startsWith("Query failed by memory arbitrator 'pause' on node-0: it asked for 5MB on a full pool and was paused for 300ms");
            assertThat(failure(node, "q1")).isNull();
            assertThat(node.pool().info().reservedBytes()).isEqualTo(8 * MB);
        }
    }

    private final Map<String, QueryMemoryContext> queries = new HashMap<>();

    private MemoryEngine engine(String arbitrator, Map<String, String> overrides)
    {
        Map<String, String> properties = new HashMap<>(Map.of(
                "node.heap-size", "10MB",
                "node.heap-governed", "false",
                "memory.heap-headroom-per-node", "0B",
                "query.max-memory-per-node", "10MB",
                "memory.cluster.poll-interval", "1h",
                "memory.arbitrator.policy", arbitrator,
                // the messages and pool figures below are the bytes set
                "memory.reservation-quantum", "0B"));
        properties.putAll(overrides);
        return MemoryEngine.builder().withoutClassPathDiscovery().plugin(new ArbitrationPlugin()).properties(properties).withoutJmx().build();
    }

    // the host's handles are held to the end of the test: a dropped one is collected and its query released
    private OperatorMemoryContext operator(NodeMemory node, String queryId, String tag)
    {
        QueryMemoryContext query = queries.computeIfAbsent(queryId, id -> node.createQuery(QueryId.of(id), QuerySession.of("alice")));
        OperatorMemoryContext operator = query.addTask(String.valueOf(query.tasks().size())).addOperator(tag);
        held.add(operator);
        return operator;
    }

    private static QueryKilledException failure(NodeMemory node, String queryId)
    {
        return node.query(QueryId.of(queryId)).flatMap(QueryMemoryContext::failure).orElse(null);
    }

    // spills on its own thread, as an operator's driver would
    private RevocableConsumer spillingConsumer(OperatorMemoryContext operator)
    {
        return new RevocableConsumer()
        {
            @Override
            public CompletableFuture<?> startMemoryRevoke()
            {
                return CompletableFuture.runAsync(() -> operator.revocableMemory().setBytes(0), spillers);
            }

            @Override
            public void finishMemoryRevoke() {}
        };
    }
}
