package io.memgov.micrometer;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.PoolSnapshot;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * Reads every meter the binder publishes through a {@link SimpleMeterRegistry} while queries hold memory on real
 * threads, and checks each against the engine's own figures: its node snapshots for the pools, its cluster snapshot and
 * loop for the cluster figures, {@code engine.metrics().snapshot()} for what policies publish, a failure listener of the
 * test's own for the failures. A meter the test does not know fails it, so a meter added without a check cannot slip in.
 */
final class MemoryEngineMetricsTest
{
    private static final long MB = 1024 * 1024;

    private final Map<String, AtomicLong> failuresSeen = new ConcurrentHashMap<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private ExecutorService workers;
    private MemoryEngine engine;
    private MeterRegistry registry;

    @BeforeEach
    void startEngine()
    {
        // two nodes of 12MB pools; the thread-batched tracker's correction worker publishes its drift every 20ms, the
        // leak detector its counts every round; the loop runs only when the test says so
        engine = MemoryEngine.builder().withoutJmx()
                .property("cluster.node-count", "2")
                .property("node.heap-size", "16MB")
                .property("memory.heap-headroom-per-node", "4MB")
                .property("query.max-memory-per-node", "12MB")
                .property("memory.cluster.poll-interval", "1h")
                .property("memory.tracker.policy", "thread-batched")
                .property("memory.tracker.thread-batched.correction-interval", "20ms")
                .property("query.low-memory-killer.policy", "total-reservation")
                .property("memory.leak-detector.policy", "leak-detector")
                .property("memory.spill-strategy.policy", "threshold")
                // the meters are checked against the bytes set
                .property("memory.reservation-quantum", "0B")
                .build();
        engine.addQueryFailureListener((queryId, tasks, errorCode, message) ->
                failuresSeen.computeIfAbsent(errorCode.name() + "/" + (tasks.isEmpty() ? "query" : "tasks"), ignored -> new AtomicLong()).incrementAndGet());
        registry = new SimpleMeterRegistry();
        new MemoryEngineMetrics(engine, Tags.of("engine", "test")).bindTo(registry);
        workers = Executors.newFixedThreadPool(4);
    }

    @AfterEach
    void stopEngine()
            throws InterruptedException
    {
        release.countDown();
        workers.shutdown();
        assertThat(workers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        engine.close();
    }

    @Test
    @Timeout(60)
    void everyMeterReadsWhatTheEngineReportsWhileQueriesRunGetKilledAndAreRevoked()
            throws Exception
    {
        CountDownLatch holding = new CountDownLatch(3);
        List<Future<?>> queries = new ArrayList<>();
        // "wide" on both nodes, "small" on node-0, "spiller" with revocable memory on node-1: each holds until released
        queries.add(workers.submit(() -> hold(holding, "wide", Map.of(0, 3 * MB, 1, 2 * MB), 0)));
        queries.add(workers.submit(() -> hold(holding, "small", Map.of(0, 1 * MB), 0)));
        queries.add(workers.submit(() -> hold(holding, "spiller", Map.of(1, 1 * MB), 2 * MB)));
        assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
        engine.cluster().process();

        assertEveryMeterMatchesTheEngine();
        assertThat(gauge("memgov.pool.reserved", "node", "node-0", "pool", "general")).isEqualTo(4 * MB);
        assertThat(gauge("memgov.pool.reserved.revocable", "node", "node-1", "pool", "general")).isEqualTo(2 * MB);
        assertThat(gauge("memgov.node.queries", "node", "node-0")).isEqualTo(2);
        assertThat(gauge("memgov.node.tasks", "node", "node-1")).isEqualTo(2);
        // the correction worker's drift, published through its MetricsSink, is a meter of its own on each node
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(registry.find("memgov.policy.tracked.minus.actual.bytes").tag("node", "node-1").gauge())
                .isNotNull());
        assertThat(registry.find("memgov.policy.tracked.minus.actual.bytes").tag("node", "node-1").gauge().getId().getTags())
                .contains(io.micrometer.core.instrument.Tag.of("source", "node"), io.micrometer.core.instrument.Tag.of("policy", "fixed/thread-batched/threshold"));
        assertThat(registry.find("memgov.policy.queries.killed.due.to.out.of.memory").meters()).as("published on the first kill only").isEmpty();

        // node-0 over its pool: the loop's killer (total-reservation) kills the largest query, the newcomer
        QueryMemoryContext hog = engine.node(0).createQuery(QueryId.of("hog"), QuerySession.of("bob"));
        OperatorMemoryContext hogOperator = hog.addTask("0").addOperator("HashAggregation");
        assertThat(hogOperator.userMemory().setBytes(9 * MB).isDone()).as("the pool is now over-committed").isFalse();
        engine.cluster().process();

        assertThat(hog.failure()).isPresent();
        assertThat(failuresSeen).containsOnlyKeys("CLUSTER_OUT_OF_MEMORY/query");
        assertThat(functionCounter("memgov.cluster.queries.killed")).isEqualTo(1);
        assertThat(counter("memgov.query.failures", "code", "CLUSTER_OUT_OF_MEMORY", "target", "query")).isEqualTo(1);
        assertThat(functionCounter("memgov.policy.queries.killed.due.to.out.of.memory", "source", "cluster-loop")).as("registered when first published").isEqualTo(1);
        assertEveryMeterMatchesTheEngine();

        // node-1's pool nearly full of revocable memory: the threshold strategy asks "spiller" to give it back
        engine.node(1).query(QueryId.of("spiller")).orElseThrow().tasks().get(0).operators().get(0).revocableMemory().setBytes(10 * MB);
        engine.revokingScheduler(engine.node(1).nodeId()).orElseThrow().checkNow();
        assertThat(functionCounter("memgov.revoke.requests", "node", "node-1")).isGreaterThanOrEqualTo(1);
        assertEveryMeterMatchesTheEngine();

        release.countDown();
        for (Future<?> query : queries) {
            query.get(10, TimeUnit.SECONDS);
        }
        hog.close();
        engine.cluster().process();
        assertEveryMeterMatchesTheEngine();
        for (NodeMemory node : engine.nodes()) {
            assertThat(gauge("memgov.pool.reserved", "node", node.nodeId().toString(), "pool", "general")).isZero();
            assertThat(gauge("memgov.pool.reserved.revocable", "node", node.nodeId().toString(), "pool", "general")).isZero();
        }
    }

    @Test
    void aRegistryBoundLaterGetsTheFiguresPublishedBefore()
    {
        engine.cluster().process();
        SimpleMeterRegistry late = new SimpleMeterRegistry();

        new MemoryEngineMetrics(engine).bindTo(late);

        // the leak detector published its gauges in the round above, before this registry existed
        assertThat(late.find("memgov.policy.leaked.queries").tag("source", "memory.leak-detector").tag("policy", "leak-detector").gauge()).isNotNull();
        assertThat(late.find("memgov.pool.max").tag("node", "node-1").gauge().value()).isEqualTo(engine.nodeMemorySnapshot(1).pools().get("general").maxBytes());
    }

    /** Holds the given user bytes per node index (and revocable bytes on the last node) until released. */
    private Void hold(CountDownLatch holding, String id, Map<Integer, Long> userBytesByNode, long revocableBytes)
            throws InterruptedException
    {
        List<QueryMemoryContext> contexts = new ArrayList<>();
        try {
            int lastNode = -1;
            OperatorMemoryContext last = null;
            for (Map.Entry<Integer, Long> entry : new java.util.TreeMap<>(userBytesByNode).entrySet()) {
                QueryMemoryContext query = engine.node(entry.getKey()).createQuery(QueryId.of(id), QuerySession.of("alice"));
                contexts.add(query);
                OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
                assertThat(operator.userMemory().setBytes(entry.getValue()).isDone()).isTrue();
                lastNode = entry.getKey();
                last = operator;
            }
            if (revocableBytes > 0) {
                OperatorMemoryContext spilling = last;
                spilling.setRevocableConsumer(() -> {
                    spilling.revocableMemory().setBytes(0);
                    return CompletableFuture.completedFuture(null);
                });
                assertThat(spilling.revocableMemory().setBytes(revocableBytes).isDone()).as("revocable on node %s", lastNode).isTrue();
            }
            holding.countDown();
            assertThat(release.await(30, TimeUnit.SECONDS)).isTrue();
            return null;
        }
        finally {
            contexts.forEach(QueryMemoryContext::close);
        }
    }

    private void assertEveryMeterMatchesTheEngine()
    {
        // the drift gauges move every 20ms and the revoking checks every second: compare until one pass agrees throughout
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).untilAsserted(() -> {
            Map<String, Long> published = engine.metrics().snapshot();
            Set<String> publishedWithMeters = new TreeSet<>();
            for (Meter meter : registry.getMeters()) {
                String name = meter.getId().getName();
                assertThat(meter.getId().getTag("engine")).as("%s carries the binder's tags", meter.getId()).isEqualTo("test");
                double value = value(meter);
                if (name.startsWith("memgov.policy.")) {
                    String key = publishedKey(meter);
                    publishedWithMeters.add(key);
                    assertThat(published).as("%s reads a figure the engine publishes", meter.getId()).containsKey(key);
                    assertThat(value).as("%s against engine.metrics() '%s'", meter.getId(), key).isEqualTo((double) published.get(key));
                    continue;
                }
                assertThat(value).as("%s", meter.getId()).isEqualTo(expected(meter));
            }
            assertThat(publishedWithMeters).as("every figure policies published has a meter").isEqualTo(published.keySet());
        });
        assertThat(registry.getMeters().stream().map(meter -> meter.getId().getName()).collect(Collectors.toSet())).contains(
                "memgov.pool.max", "memgov.pool.reserved", "memgov.pool.reserved.revocable", "memgov.pool.free", "memgov.pool.blocked",
                "memgov.node.queries", "memgov.node.tasks", "memgov.revoke.requests", "memgov.revoke.checks",
                "memgov.cluster.queries.killed", "memgov.cluster.tasks.killed", "memgov.cluster.reserved.user", "memgov.cluster.reserved.total",
                "memgov.cluster.blocked.nodes", "memgov.cluster.leaked.queries", "memgov.cluster.pool.assignment.version", "memgov.query.failures",
                "memgov.policy.tracked.minus.actual.bytes", "memgov.policy.leaked.queries");
    }

    private double expected(Meter meter)
    {
        String node = meter.getId().getTag("node");
        String pool = meter.getId().getTag("pool");
        return switch (meter.getId().getName()) {
            case "memgov.pool.max" -> pool(node, pool).maxBytes();
            case "memgov.pool.reserved" -> pool(node, pool).reservedBytes();
            case "memgov.pool.reserved.revocable" -> pool(node, pool).reservedRevocableBytes();
            case "memgov.pool.free" -> pool(node, pool).freeBytes();
            case "memgov.pool.blocked" -> pool(node, pool).blocked() ? 1 : 0;
            case "memgov.node.queries" -> node(node).queries().size();
            case "memgov.node.tasks" -> node(node).queries().stream().mapToInt(query -> query.tasks().size()).sum();
            case "memgov.revoke.requests" -> engine.revokingScheduler(node(node).nodeId()).orElseThrow().revokesRequested();
            case "memgov.revoke.checks" -> engine.revokingScheduler(node(node).nodeId()).orElseThrow().checks();
            case "memgov.cluster.queries.killed" -> engine.clusterMemorySnapshot().queriesKilledDueToOutOfMemory();
            case "memgov.cluster.tasks.killed" -> engine.clusterMemorySnapshot().tasksKilledDueToOutOfMemory();
            case "memgov.cluster.reserved.user" -> engine.clusterMemorySnapshot().clusterUserMemoryReservation();
            case "memgov.cluster.reserved.total" -> engine.clusterMemorySnapshot().clusterTotalMemoryReservation();
            case "memgov.cluster.leaked.queries" -> engine.clusterMemorySnapshot().numberOfLeakedQueries();
            case "memgov.cluster.blocked.nodes" -> engine.cluster().blockedNodes();
            case "memgov.cluster.pool.assignment.version" -> engine.cluster().assignment().version();
            case "memgov.query.failures" -> failuresSeen.getOrDefault(meter.getId().getTag("code") + "/" + meter.getId().getTag("target"), new AtomicLong()).get();
            default -> fail("a meter this test does not check: " + meter.getId());
        };
    }

    /** The name {@code engine.metrics()} knows the figure by, rebuilt from the meter's name and tags. */
    private static String publishedKey(Meter meter)
    {
        String source = meter.getId().getTag("source");
        String scope = switch (source) {
            case "node" -> meter.getId().getTag("node");
            case "cluster-loop" -> "cluster";
            case "heap" -> "heap";
            default -> PolicyFamily.values().stream()
                    .filter(family -> family.prefix().equals(source))
                    .findFirst()
                    .map(family -> family == PolicyFamily.POOL_ASSIGNER ? "memory-pool-assigner" : family.policyKey())
                    .orElseThrow(() -> new AssertionError("unknown source of " + meter.getId()));
        };
        return scope + "." + meter.getId().getName().substring("memgov.policy.".length()).replace('.', '-');
    }

    private static double value(Meter meter)
    {
        if (meter instanceof Gauge gauge) {
            return gauge.value();
        }
        if (meter instanceof FunctionCounter counter) {
            return counter.count();
        }
        if (meter instanceof Counter counter) {
            return counter.count();
        }
        throw new AssertionError("a meter of an unexpected type: " + meter.getId() + " " + meter.getClass());
    }

    private PoolSnapshot pool(String nodeId, String poolId)
    {
        int index = engine.nodes().indexOf(node(nodeId));
        return engine.nodeMemorySnapshot(index).pools().get(poolId);
    }

    private NodeMemory node(String nodeId)
    {
        return engine.nodes().stream().filter(node -> node.nodeId().toString().equals(nodeId)).findFirst().orElseThrow();
    }

    private double gauge(String name, String... tags)
    {
        return registry.get(name).tags(tags).gauge().value();
    }

    private double functionCounter(String name, String... tags)
    {
        return registry.get(name).tags(tags).functionCounter().count();
    }

    private double counter(String name, String... tags)
    {
        return registry.get(name).tags(tags).counter().count();
    }
}
