package io.memgov.plugin.reservemode;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.QuerySession;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Reserve mode inside a real embedded cluster: the probe's figure drops as if another process took memory, the
 * checker retires the largest query within two check intervals, the others go on, and every counter ends consistent.
 */
final class ReserveModeEndToEndTest
{
    private static final long MIB = 1L << 20;
    private static final long PHYSICAL = 1024 * MIB;
    private static final long RESERVE = 100 * MIB;
    private static final Duration CHECK_INTERVAL = Duration.ofMillis(100);

    private static final QueryId SMALL = QueryId.of("small");
    private static final QueryId MEDIUM = QueryId.of("medium");
    private static final QueryId LARGE = QueryId.of("large");

    /** Memory as the probe sees it: what is physically there, minus another process, minus what the engine holds. */
    private final AtomicLong otherProcess = new AtomicLong();
    private final List<NodeMemory> nodes = new ArrayList<>();

    private long available()
    {
        long held = nodes.stream().map(NodeMemory::pool).mapToLong(pool -> pool.reservedBytes() + pool.reservedRevocableBytes()).sum();
        return PHYSICAL - otherProcess.get() - held;
    }

    private MemoryEngine engine()
    {
        ReserveModePoolFactory factory = new ReserveModePoolFactory(source -> new ControlledMemoryProbe(this::available, () -> PHYSICAL));
        MemoryPlugin plugin = new MemoryPlugin()
        {
            @Override
            public List<MemoryPoolFactory> memoryPoolFactories()
            {
                return List.of(factory);
            }
        };
        MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().withoutJmx()
                .plugin(plugin)
                .properties(Map.of(
                        "cluster.node-count", "2",
                        "node.heap-size", "300MB",
                        "memory.heap-headroom-per-node", "100MB",
                        "query.max-memory-per-node", "150MB",
                        "memory.cluster.poll-interval", "1h",
                        "memory.pool.policy", "reserve-mode",
                        "memory.pool.reserve-mode.source", "heap",
                        "memory.pool.reserve-mode.min-reserved-memory", "100MB",
                        "memory.pool.reserve-mode.check-interval", CHECK_INTERVAL.toMillis() + "ms",
                        // the pool figures below are the bytes set
                        "memory.reservation-quantum", "0B"))
                .build();
        nodes.addAll(engine.nodes());
        return engine;
    }

    @Test
    void whenAvailableMemoryDropsBelowTheReserveTheLargestQueryIsRetiredAndTheOthersFinish()
    {
        try (MemoryEngine engine = engine()) {
            assertThat(engine.node(0).pool()).isInstanceOf(ReserveModeMemoryPool.class);
            Map<QueryId, Long> failedAtNanos = new ConcurrentHashMap<>();
            Map<QueryId, ErrorCode> failedWith = new ConcurrentHashMap<>();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> {
                failedAtNanos.putIfAbsent(queryId, System.nanoTime());
                failedWith.putIfAbsent(queryId, errorCode);
            });

            // three queries on both nodes: 8, 16 and 32 MB per node
            Map<QueryId, List<OperatorMemoryContext>> operators = new ConcurrentHashMap<>();
            for (QueryId queryId : List.of(SMALL, MEDIUM, LARGE)) {
                long bytes = queryId == SMALL ? 8 * MIB : queryId == MEDIUM ? 16 * MIB : 32 * MIB;
                for (NodeMemory node : engine.nodes()) {
                    OperatorMemoryContext operator = node.createQuery(queryId, QuerySession.of("alice")).addTask(node.nodeId().toString()).addOperator("HashAggregation");
                    assertThat(operator.userMemory().setBytes(bytes).isDone()).isTrue();
                    operators.computeIfAbsent(queryId, id -> new ArrayList<>()).add(operator);
                }
            }
            assertThat(failedWith).isEmpty();

            // another process takes memory: available falls 20 MB below the reserve
            otherProcess.set(available() - (RESERVE - 20 * MIB));
            long droppedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> failedWith.containsKey(LARGE));
            assertThat(Duration.ofNanos(failedAtNanos.get(LARGE) - droppedAt)).isLessThanOrEqualTo(CHECK_INTERVAL.multipliedBy(2));
            assertThat(failedWith).containsExactly(Map.entry(LARGE, ErrorCode.QUERY_MEMORY_EXHAUSTED));

            // the retired query released everything on both nodes; its next call fails with the code
            for (NodeMemory node : engine.nodes()) {
                assertThat(node.pool().queryReservedBytes(LARGE)).isZero();
                assertThat(node.pool().reservedBytes()).isEqualTo(24 * MIB);
            }
            assertThatThrownBy(() -> operators.get(LARGE).get(0).userMemory().setBytes(33 * MIB))
                    .isInstanceOf(QueryKilledException.class)
                    .extracting(e -> ((QueryKilledException) e).errorCode())
                    .isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED);

            // the others go on: they grow, then finish. Admission counts freed bytes only once the checker has polled
            // again (it never credits frees between polls): wait until every node's figure shows the retired query gone
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.nodes().stream()
                    .allMatch(node -> ((ReserveModeMemoryPool) node.pool()).availableBytes() == available()));
            for (QueryId queryId : List.of(SMALL, MEDIUM)) {
                for (OperatorMemoryContext operator : operators.get(queryId)) {
                    assertThat(operator.userMemory().setBytes(operator.userMemory().bytes() + 4 * MIB).isDone()).isTrue();
                }
            }
            // several more check intervals: nothing else is retired now that available memory is back above the reserve
            await().during(CHECK_INTERVAL.multipliedBy(3)).atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(failedWith).containsOnlyKeys(LARGE));
            for (QueryId queryId : List.of(SMALL, MEDIUM, LARGE)) {
                for (NodeMemory node : engine.nodes()) {
                    node.query(queryId).ifPresent(QueryMemoryContext::close);
                }
            }
            // the operators' handles are held until their queries closed: the engine's cleaner releases forgotten ones
            Reference.reachabilityFence(operators);
            for (NodeMemory node : engine.nodes()) {
                MemoryPool pool = node.pool();
                assertThat(pool.reservedBytes()).isZero();
                assertThat(pool.reservedRevocableBytes()).isZero();
                assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
                assertThat(pool.info().queryMemoryReservations()).isEmpty();
                assertThat(node.rootTracker().usedBytes()).isZero();
            }
        }
    }
}
