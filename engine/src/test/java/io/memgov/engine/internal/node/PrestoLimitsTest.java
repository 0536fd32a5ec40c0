package io.memgov.engine.internal.node;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Presto's per-node limits that Trino has not: the revocable and broadcast limits, and total-limit messages that name
 * system memory.
 */
final class PrestoLimitsTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;

    private static MemoryEngine engine(Map<String, String> extra)
    {
        Map<String, String> properties = new java.util.HashMap<>(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "1MB"));
        properties.putAll(extra);
        return NodeMemoryScenariosTest.engine(properties);
    }

    @Test
    void revocableMemoryPerNodeIsCappedWithPrestosErrorAndNothingChangesOnARefusal()
    {
        // Presto's QueryContext.enforceRevocableMemoryLimit (experimental.max-revocable-memory-per-node)
        try (MemoryEngine engine = engine(Map.of("query.max-revocable-memory-per-node", "2MB"))) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext join = query.addTask("0").addOperator("HashBuilder");
            OperatorMemoryContext sort = query.addTask("1").addOperator("OrderBy");
            join.revocableMemory().setBytes(MB + 512 * KB);
            sort.userMemory().setBytes(100 * KB);

            assertThatThrownBy(() -> sort.revocableMemory().setBytes(512 * KB + 1))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            exception -> assertThat(exception.errorCode()).isEqualTo(ErrorCode.EXCEEDED_REVOCABLE_MEMORY_LIMIT))
                    .hasMessage("Query exceeded per-node revocable memory limit of 2MB [Allocated: 1.50MB, Delta: 512.00kB, Top Consumers: {OrderBy=100kB}]");
            assertThat(sort.revocableMemory().trySetBytes(512 * KB + 1)).isFalse();
            // the refusals changed nothing, anywhere
            assertThat(sort.revocableMemory().bytes()).isZero();
            assertThat(query.revocableBytes()).isEqualTo(MB + 512 * KB);
            assertThat(engine.node(0).pool().reservedRevocableBytes()).isEqualTo(MB + 512 * KB);

            // exactly at the limit is allowed, and what is freed can be taken again
            sort.revocableMemory().setBytes(512 * KB);
            join.revocableMemory().setBytes(0);
            sort.revocableMemory().setBytes(2 * MB);
            assertThat(query.revocableBytes()).isEqualTo(2 * MB);
            Reference.reachabilityFence(join);
            Reference.reachabilityFence(sort);
        }
    }

    @Test
    void withoutTheKeyRevocableMemoryHasNoPerNodeLimitAsInTrino()
    {
        try (MemoryEngine engine = engine(Map.of())) {
            OperatorMemoryContext operator = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("HashBuilder");
            operator.revocableMemory().setBytes(8 * MB);
            assertThat(operator.revocableMemory().bytes()).isEqualTo(8 * MB);
            Reference.reachabilityFence(operator);
        }
    }

    @Test
    void aBadRevocableLimitIsRefusedNamingTheKey()
    {
        assertThatThrownBy(() -> engine(Map.of("query.max-revocable-memory-per-node", "lots")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("'query.max-revocable-memory-per-node'")
                .hasMessageContaining("lots");
    }

    @Test
    void broadcastMemoryPerNodeIsCappedWithPrestosErrorAndNothingChangesOnARefusal()
    {
        // Presto's TestHashJoinOperator.testBroadcastMemoryLimit and QueryContext.enforceBroadcastMemoryLimit
        // (query.max-broadcast-memory): the replicated build sides of a query's joins on a node share one per-node
        // limit, apart from the user limit, which other operators' user memory does not touch
        try (MemoryEngine engine = engine(Map.of("query.max-memory-per-node", "4MB", "query.max-broadcast-memory", "1MB"))) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            QueryContextState state = ((QueryContext) query).state();
            OperatorMemoryContext build = query.addTask("0").addBroadcastOperator("HashBuilder");
            TaskMemoryContext probeTask = query.addTask("1");
            OperatorMemoryContext otherBuild = probeTask.addBroadcastOperator("HashBuilder");
            OperatorMemoryContext aggregation = probeTask.addOperator("HashAggregation");
            assertThat(build.isBroadcast()).isTrue();
            assertThat(aggregation.isBroadcast()).isFalse();
            aggregation.userMemory().setBytes(2 * MB);
            build.userMemory().setBytes(768 * KB);

            assertThatThrownBy(() -> otherBuild.userMemory().setBytes(256 * KB + 1))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            exception -> assertThat(exception.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_BROADCAST_JOIN_MEMORY_LIMIT))
                    .hasMessage("Query exceeded per-node broadcast memory limit of 1MB [Allocated: 768kB, Delta: 256.00kB, "
                            + "Top Consumers: {HashAggregation=2MB, HashBuilder=768kB}]");
            assertThat(otherBuild.userMemory().trySetBytes(256 * KB + 1)).isFalse();
            // the refusals changed nothing, anywhere
            assertThat(otherBuild.userMemory().bytes()).isZero();
            assertThat(probeTask.userBytes()).isEqualTo(2 * MB);
            assertThat(query.userBytes()).isEqualTo(2 * MB + 768 * KB);
            assertThat(state.broadcastBytes()).isEqualTo(768 * KB);
            assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(2 * MB + 768 * KB);

            // exactly at the limit is allowed; a broadcast operator's system memory is not broadcast
            otherBuild.userMemory().setBytes(256 * KB);
            otherBuild.systemMemory().setBytes(MB);
            assertThat(state.broadcastBytes()).isEqualTo(MB);
            // what a build side gives back can be taken again
            build.close();
            assertThat(state.broadcastBytes()).isEqualTo(256 * KB);
            assertThat(otherBuild.userMemory().trySetBytes(MB)).isTrue();
            assertThat(state.broadcastBytes()).isEqualTo(MB);
            assertThat(query.userBytes()).isEqualTo(3 * MB);
            Reference.reachabilityFence(otherBuild);
            Reference.reachabilityFence(aggregation);
        }
    }

    @Test
    void theBroadcastLimitIsCheckedBeforeTheUserLimitAsInPresto()
    {
        // Presto's QueryContext updates the broadcast counter before it checks the user limit: a growth past both fails
        // with the broadcast error, and here too changes nothing
        try (MemoryEngine engine = engine(Map.of("query.max-broadcast-memory", "512kB"))) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext build = query.addTask("0").addBroadcastOperator("HashBuilder");
            assertThatThrownBy(() -> build.userMemory().setBytes(2 * MB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            exception -> assertThat(exception.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_BROADCAST_JOIN_MEMORY_LIMIT));
            // past the user limit only: the user limit's error, and the broadcast claim is taken back
            OperatorMemoryContext aggregation = query.addTask("1").addOperator("HashAggregation");
            aggregation.userMemory().setBytes(MB - 256 * KB);
            assertThatThrownBy(() -> build.userMemory().setBytes(512 * KB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            exception -> assertThat(exception.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT));
            assertThat(((QueryContext) query).state().broadcastBytes()).isZero();
            build.userMemory().setBytes(256 * KB);
            assertThat(((QueryContext) query).state().broadcastBytes()).isEqualTo(256 * KB);
            Reference.reachabilityFence(build);
            Reference.reachabilityFence(aggregation);
        }
    }

    @Test
    void withoutTheKeyBroadcastMemoryHasOnlyTheUserLimitAsInTrino()
    {
        try (MemoryEngine engine = engine(Map.of("query.max-memory-per-node", "4MB"))) {
            OperatorMemoryContext build = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addBroadcastOperator("HashBuilder");
            build.userMemory().setBytes(4 * MB);
            assertThat(build.userMemory().bytes()).isEqualTo(4 * MB);
            Reference.reachabilityFence(build);
        }
    }

    @Test
    void aBadBroadcastLimitIsRefusedNamingTheKey()
    {
        assertThatThrownBy(() -> engine(Map.of("query.max-broadcast-memory", "-1MB")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("'query.max-broadcast-memory'")
                .hasMessageContaining("-1MB");
    }

    @Test
    void aTotalLimitMessageNamesTheHoldersOfSystemMemory()
    {
        // Presto's getAdditionalFailureInfo lists the pool's tagged allocations, system memory included: a query holding
        // only system memory still names its consumers (before, "[Allocated: 1000kB, Delta: 25.00kB]" named none)
        try (MemoryEngine engine = engine(Map.of("query.max-total-memory-per-node", "1MB"))) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext exchange = query.addTask("0").addOperator("Exchange");
            exchange.systemMemory().setBytes(800 * KB);
            query.localMemory().setBytes(200 * KB);

            assertThatThrownBy(() -> exchange.systemMemory().setBytes(825 * KB))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessage("Query exceeded per-node total memory limit of 1MB [Allocated: 1000kB, Delta: 25kB, Top Consumers: {Exchange=800kB, (query-local)=200kB}]");
            Reference.reachabilityFence(exchange);
        }
    }
}
