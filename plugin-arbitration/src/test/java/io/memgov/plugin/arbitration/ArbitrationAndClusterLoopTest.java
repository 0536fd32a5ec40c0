package io.memgov.plugin.arbitration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A node's arbitration and the cluster loop on one shortage: while the node resolves a blocked reservation (here
 * `spill-first` waiting for a spill), the loop leaves that node to it instead of killing a second victim; while the
 * node only pauses a requester (`pause`), the loop's killers act, as Doris's memory GC does while queries sit in its
 * paused queue. The loop is driven by hand ({@code process()}, 1h poll) with a killer that always names the largest
 * query and no kill delay, so that each round kills if the node is the loop's.
 */
@Timeout(60)
final class ArbitrationAndClusterLoopTest
{
    private static final long MB = 1024 * 1024;

    private final Map<String, QueryMemoryContext> queries = new HashMap<>();
    private final List<Object> held = new ArrayList<>();
    private final ExecutorService spillers = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown()
    {
        spillers.shutdownNow();
    }

    @Test
    void theLoopLeavesANodeToItsArbitrationWhileItSpillsAndTheArbitrationAloneChoosesTheVictim()
    {
        try (MemoryEngine engine = engine("spill-first", Map.of())) {
            NodeMemory node = engine.node(0);
            CountDownLatch spillStarted = new CountDownLatch(1);
            CountDownLatch finishSpill = new CountDownLatch(1);
            OperatorMemoryContext aggregation = operator(node, "q1");
            aggregation.setRevocableConsumer(slowSpill(aggregation, spillStarted, finishSpill));
            aggregation.userMemory().setBytes(6 * MB);
            aggregation.revocableMemory().setBytes(3 * MB);
            // 10MB of user memory on a 10MB pool: blocked for the loop too
            MemoryFuture blocked = operator(node, "q2").userMemory().setBytes(4 * MB);
            assertThat(awaitLatch(spillStarted)).isTrue();

            for (int round = 0; round < 3; round++) {
                engine.cluster().process();
            }

            // the loop sees the blocked node, but spill-first is at work there: no kill from the loop
            assertThat(engine.cluster().blockedNodes()).isEqualTo(1);
            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isZero();
            assertThat(failure(node, "q1")).isNull();
            assertThat(blocked).isNotDone();

            // the spill frees revocable memory only, which leaves the pool full: spill-first's next step kills q1
            finishSpill.countDown();
            assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
            assertThat(failure(node, "q1").errorCode()).isEqualTo(ErrorCode.MEMORY_ARBITRATION_FAILED);
            assertThat(failure(node, "q2")).isNull();
            await().atMost(Duration.ofSeconds(5)).until(() -> !node.snapshot().arbitrating());
            engine.cluster().process();
            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isZero();
        }
    }

    @Test
    void withoutArbitrationTheSameShortageIsTheLoopsAndItKills()
    {
        // the control: the killer and the loop above do kill on this node when no arbitration is at work
        try (MemoryEngine engine = engine("none", Map.of())) {
            NodeMemory node = engine.node(0);
            operator(node, "q1").userMemory().setBytes(8 * MB);
            MemoryFuture blocked = operator(node, "q2").userMemory().setBytes(5 * MB);

            engine.cluster().process();

            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isEqualTo(1);
            assertThat(failure(node, "q1").errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY);
            assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
        }
    }

    @Test
    void whileARequesterIsOnlyPausedTheLoopsKillersFreeMemoryForIt()
    {
        try (MemoryEngine engine = engine("pause", Map.of("memory.arbitrator.pause.pause-timeout", "20s"))) {
            NodeMemory node = engine.node(0);
            operator(node, "q1").userMemory().setBytes(8 * MB);
            MemoryFuture blocked = operator(node, "q2").userMemory().setBytes(5 * MB);
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.arbitrationSnapshot().pauses() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> !node.snapshot().arbitrating());

            engine.cluster().process();

            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isEqualTo(1);
            assertThat(failure(node, "q1").errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY);
            // the paused requester resumes on the memory the kill freed, long before its pause would run out
            assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
            assertThat(failure(node, "q2")).isNull();
        }
    }

    private MemoryEngine engine(String arbitrator, Map<String, String> overrides)
    {
        Map<String, String> properties = new HashMap<>(Map.of(
                "node.heap-size", "10MB",
                "node.heap-governed", "false",
                "memory.heap-headroom-per-node", "0B",
                "query.max-memory-per-node", "10MB",
                "memory.cluster.poll-interval", "1h",
                "memory.arbitrator.policy", arbitrator,
                "query.low-memory-killer.policy", "largest",
                "memory.reservation-quantum", "0B"));
        properties.putAll(overrides);
        return MemoryEngine.builder().withoutClassPathDiscovery().plugin(new ArbitrationPlugin()).plugin(new LargestQueryKillerPlugin())
                .properties(properties).withoutJmx().build();
    }

    // the host's handles are held to the end of the test: a dropped one is collected and its query released
    private OperatorMemoryContext operator(NodeMemory node, String queryId)
    {
        QueryMemoryContext query = queries.computeIfAbsent(queryId, id -> node.createQuery(QueryId.of(id), QuerySession.of("alice")));
        OperatorMemoryContext operator = query.addTask(String.valueOf(query.tasks().size())).addOperator("HashAggregation");
        held.add(operator);
        return operator;
    }

    // spills on its own thread, as an operator's driver would, once the test lets it
    private RevocableConsumer slowSpill(OperatorMemoryContext operator, CountDownLatch started, CountDownLatch finish)
    {
        return new RevocableConsumer()
        {
            @Override
            public CompletableFuture<?> startMemoryRevoke()
            {
                started.countDown();
                return CompletableFuture.runAsync(() -> {
                    awaitLatch(finish);
                    operator.revocableMemory().setBytes(0);
                }, spillers);
            }

            @Override
            public void finishMemoryRevoke() {}
        };
    }

    private static boolean awaitLatch(CountDownLatch latch)
    {
        try {
            return latch.await(10, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static QueryKilledException failure(NodeMemory node, String queryId)
    {
        return node.query(QueryId.of(queryId)).flatMap(QueryMemoryContext::failure).orElse(null);
    }

    /** A query killer that always names the query holding the most. */
    private static final class LargestQueryKillerPlugin
            implements MemoryPlugin
    {
        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            return List.of(new LowMemoryKillerFactory()
            {
                @Override
                public String name()
                {
                    return "largest";
                }

                @Override
                public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                {
                    return (running, nodes) -> nodes.stream().anyMatch(node -> node.isBlocked())
                            ? running.stream().max(Comparator.comparingLong(RunningQueryInfo::totalReservationBytes)).map(query -> KillTarget.wholeQuery(query.queryId()))
                            : Optional.empty();
                }
            });
        }
    }
}
