package io.memgov.engine.internal.cluster;

import io.memgov.engine.ClusterQueryMemory;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * What the cluster loop shows of each running query: Presto's cumulative memory summed over its nodes (Presto's
 * QueryStateMachine sums its tasks' figures) and the distributed limits in force for it (Presto's
 * ClusterMemoryManager.process: the configuration's limit lowered by the session's, with the source of each).
 */
final class ClusterQueryFiguresTest
{
    private static final long KB = 1024;

    private static MemoryEngine cluster(Map<String, String> extra)
    {
        Map<String, String> properties = new HashMap<>(Map.of(
                "cluster.node-count", "2",
                "node.heap-size", "16MB",
                "node.heap-governed", "false",
                "memory.cluster.poll-interval", "1h",
                // the figures below are the bytes set, not their reservations' quanta
                "memory.reservation-quantum", "0B"));
        properties.putAll(extra);
        return MemoryEngine.builder().withoutClassPathDiscovery().properties(properties).build();
    }

    @Test
    void theClusterLoopSumsAQuerysCumulativeMemoryOverItsNodes()
    {
        try (MemoryEngine engine = cluster(Map.of())) {
            QueryMemoryContext first = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            QueryMemoryContext second = engine.node(1).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext build = first.addTask("0.0").addOperator("HashBuilder");
            OperatorMemoryContext probe = second.addTask("0.1").addOperator("LookupJoin");
            build.userMemory().setBytes(300 * KB);
            build.systemMemory().setBytes(100 * KB);
            probe.userMemory().setBytes(200 * KB);

            // the round's snapshots are the nodes' samples
            engine.cluster().process();

            ClusterQueryMemory query = engine.cluster().queries().get(0);
            assertThat(query.queryId()).isEqualTo("q1");
            assertThat(first.cumulativeUserMemoryByteSeconds()).isPositive();
            assertThat(second.cumulativeUserMemoryByteSeconds()).isPositive();
            assertThat(query.cumulativeUserMemoryByteSeconds())
                    .isCloseTo(first.cumulativeUserMemoryByteSeconds() + second.cumulativeUserMemoryByteSeconds(), within(1e-9));
            assertThat(query.cumulativeTotalMemoryByteSeconds())
                    .isCloseTo(first.cumulativeTotalMemoryByteSeconds() + second.cumulativeTotalMemoryByteSeconds(), within(1e-9));
            // the system memory of node 0 makes its total figure the larger
            assertThat(first.cumulativeTotalMemoryByteSeconds()).isGreaterThan(first.cumulativeUserMemoryByteSeconds());
            // and the cluster snapshot a host serves shows the same
            assertThat(engine.clusterMemorySnapshot().queries()).containsExactly(query);
            Reference.reachabilityFence(build);
            Reference.reachabilityFence(probe);
        }
    }

    @Test
    void theDistributedLimitsInForceAreShownPerQueryWithTheirSourceAndNamedByTheKill()
    {
        try (MemoryEngine engine = cluster(Map.of("query.max-memory", "1MB", "query.max-total-memory", "2MB"))) {
            QueryMemoryContext configured = engine.node(0).createQuery(QueryId.of("configured"), QuerySession.of("alice"));
            QueryMemoryContext lowered = engine.node(0).createQuery(QueryId.of("lowered"),
                    QuerySession.builder("bob").property("query_max_memory", "100kB").property("query_max_total_memory", "4MB").build());
            QueryMemoryContext retried = engine.node(1).createQuery(QueryId.of("retried"),
                    QuerySession.builder("carol").retryPolicy(RetryPolicy.TASK).build());
            OperatorMemoryContext small = lowered.addTask("0").addOperator("Sort");
            small.userMemory().setBytes(50 * KB);

            engine.cluster().process();

            Map<String, ClusterQueryMemory> figures = new HashMap<>();
            engine.cluster().queries().forEach(query -> figures.put(query.queryId(), query));
            assertThat(figures.get("configured")).satisfies(query -> {
                assertThat(query.maxMemoryBytes()).isEqualTo(1024 * KB);
                assertThat(query.maxMemorySource()).isEqualTo(ClusterQueryMemory.SYSTEM);
                assertThat(query.maxTotalMemoryBytes()).isEqualTo(2048 * KB);
                assertThat(query.maxTotalMemorySource()).isEqualTo(ClusterQueryMemory.SYSTEM);
                assertThat(query.limitsEnforced()).isTrue();
            });
            // a session can only lower a limit: its higher total limit leaves the configuration's in force
            assertThat(figures.get("lowered")).satisfies(query -> {
                assertThat(query.maxMemoryBytes()).isEqualTo(100 * KB);
                assertThat(query.maxMemorySource()).isEqualTo(ClusterQueryMemory.QUERY);
                assertThat(query.maxTotalMemoryBytes()).isEqualTo(2048 * KB);
                assertThat(query.maxTotalMemorySource()).isEqualTo(ClusterQueryMemory.SYSTEM);
                assertThat(query.userBytes()).isEqualTo(50 * KB);
            });
            assertThat(figures.get("retried").limitsEnforced()).isFalse();

            // the kill names the limit the snapshot showed
            small.userMemory().setBytes(150 * KB);
            engine.cluster().process();
            assertThat(lowered.failure()).hasValueSatisfying(failure -> {
                assertThat(failure.errorCode()).isEqualTo(ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT);
                assertThat(failure.getMessage()).isEqualTo("Query exceeded distributed user memory limit of 100kB");
            });
            assertThat(configured.failure()).isEmpty();
            assertThat(retried.failure()).isEmpty();
            Reference.reachabilityFence(small);
        }
    }
}
