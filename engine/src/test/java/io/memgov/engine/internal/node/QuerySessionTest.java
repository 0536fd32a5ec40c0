package io.memgov.engine.internal.node;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.ref.Reference;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Session overrides (Trino's {@code TestMemorySessionProperties}): they may only lower the configured limits;
 * {@code resource_overcommit} lifts the per-node limit to the whole pool.
 */
final class QuerySessionTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * 1024;

    // pool 10MB, per-node limit 1MB
    private static MemoryEngine engine()
    {
        return NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "1MB"));
    }

    @ParameterizedTest
    @CsvSource({
            // larger than the configuration: ignored, or a user could raise their own limit
            "2MB, 1048576",
            // equal: no change
            "1MB, 1048576",
            // smaller: applies
            "512kB, 524288",
            "0B, 0",
    })
    void sessionPerNodeLimitOnlyLowersTheConfiguredOne(String sessionValue, long expectedLimit)
    {
        try (MemoryEngine engine = engine()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"),
                    QuerySession.builder("alice").property("query_max_memory_per_node", sessionValue).build());

            assertThat(query.maxUserBytes()).isEqualTo(expectedLimit);
            LocalMemoryContext memory = query.addTask("0").addOperator("test").userMemory();
            memory.setBytes(expectedLimit);
            assertThatThrownBy(() -> memory.setBytes(expectedLimit + 1))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT))
                    .hasMessageStartingWith("Query exceeded per-node memory limit of " + io.memgov.spi.policy.DataSizes.succinct(expectedLimit) + " [");
        }
    }

    @Test
    void resourceOvercommitLetsAQueryUseTheWholePool()
    {
        // Trino: with resource_overcommit the only per-node bound is the pool (and the killer)
        try (MemoryEngine engine = engine()) {
            long poolBytes = engine.node(0).pool().maxBytes();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"),
                    QuerySession.builder("alice").property("resource_overcommit", "true").build());

            assertThat(query.maxUserBytes()).isEqualTo(poolBytes).isEqualTo(10 * MB);
            assertThat(query.maxTotalBytes()).isEqualTo(Long.MAX_VALUE);
            LocalMemoryContext memory = query.addTask("0").addOperator("test").userMemory();
            memory.setBytes(poolBytes);
            assertThat(engine.node(0).pool().freeBytes()).isZero();
            assertThat(memory.trySetBytes(poolBytes + 1)).isFalse();
        }
    }

    @Test
    void resourceOvercommitFalseKeepsTheConfiguredLimit()
    {
        try (MemoryEngine engine = engine()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"),
                    QuerySession.builder("alice").property("resource_overcommit", "false").build());
            assertThat(query.maxUserBytes()).isEqualTo(MB);
        }
    }

    @Test
    void taskRetryQueriesHaveNoPerNodeLimit()
    {
        // Trino: with retry_policy=TASK only the pool and the killers apply
        try (MemoryEngine engine = engine()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"),
                    QuerySession.builder("alice").retryPolicy(RetryPolicy.TASK).build());
            assertThat(query.maxUserBytes()).isEqualTo(Long.MAX_VALUE);
            // kept while it holds memory: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext operator = query.addTask("0").addOperator("test");
            operator.userMemory().setBytes(5 * MB);
            Reference.reachabilityFence(operator);
        }
    }

    @Test
    void sessionTotalPerNodeLimitCountsSystemMemory()
    {
        // Presto's total limit: system memory does not count against the user limit but does against the total
        try (MemoryEngine engine = engine()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"),
                    QuerySession.builder("alice").property("query_max_total_memory_per_node", "1MB").build());
            assertThat(query.maxTotalBytes()).isEqualTo(MB);
            OperatorMemoryContext operator = query.addTask("0").addOperator("Exchange");
            operator.userMemory().setBytes(600 * KB);
            operator.systemMemory().setBytes(400 * KB);

            assertThatThrownBy(() -> operator.systemMemory().setBytes(424 * KB + 1))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessage("Query exceeded per-node total memory limit of 1MB [Allocated: 1000kB, Delta: 24.00kB, Top Consumers: {Exchange=1000kB}]");
            assertThat(operator.systemMemory().bytes()).isEqualTo(400 * KB);
            assertThat(query.systemBytes()).isEqualTo(400 * KB);
            assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(1000 * KB);
            Reference.reachabilityFence(operator);
        }
    }

    @Test
    void unknownSessionPropertyIsRejectedWithItsName()
    {
        // a misspelt limit must not silently leave the query unlimited
        assertThatThrownBy(() -> QuerySession.builder("alice").property("query_max_memroy_per_node", "1GB").build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Unknown session property 'query_max_memroy_per_node' (value '1GB'). Accepted: "
                        + "[query_max_memory, query_max_memory_per_node, query_max_total_memory, query_max_total_memory_per_node, resource_overcommit]");
    }

    @Test
    void malformedSessionValuesAreRejectedWithTheirName()
    {
        assertThatThrownBy(() -> QuerySession.builder("alice").property("query_max_memory", "much").build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("'much' for 'query_max_memory'");
        assertThatThrownBy(() -> QuerySession.builder("alice").property("resource_overcommit", "sometimes").build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Invalid value 'sometimes' for 'resource_overcommit': expected true or false");
    }

    @Test
    void sessionDefaultsHaveNoOverrides()
    {
        QuerySession session = QuerySession.of("alice");
        assertThat(session.user()).isEqualTo("alice");
        assertThat(session.retryPolicy()).isEqualTo(RetryPolicy.NONE);
        assertThat(session.priority()).isZero();
        assertThat(session.maxMemory()).isEmpty();
        assertThat(session.maxMemoryPerNode()).isEmpty();
        assertThat(session.maxTotalMemory()).isEmpty();
        assertThat(session.maxTotalMemoryPerNode()).isEmpty();
        assertThat(session.resourceOvercommit()).isFalse();
    }

    @Test
    void aQueryCanHaveOnlyOneContextPerNode()
    {
        // a second context would split the query's accounting and its limit in two
        try (MemoryEngine engine = engine()) {
            QueryMemoryContext first = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            assertThatThrownBy(() -> engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("query q1 already has a memory context on node node-0");
            // kept to here: a dropped query handle is released by the cleaner when a GC runs, and the id is free again
            Reference.reachabilityFence(first);
        }
    }
}
