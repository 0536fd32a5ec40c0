package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.tracker.MemoryTracker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Issue #17, defect 4: two reservations of {@code Long.MAX_VALUE / 2 + 1} bytes each would wrap the counters they
 * share (the query's, its tracker's, the pool's) to {@code Long.MIN_VALUE}, after which {@code close()} failed and the
 * pool stayed corrupt. The second is refused, naming the bytes and the level, and changes nothing; closing afterwards
 * brings every counter back to zero.
 */
final class CounterOverflowTest
{
    private static final long HALF_PLUS_ONE = Long.MAX_VALUE / 2 + 1;
    private static final String OVERFLOW = "would overflow";

    static Stream<Arguments> unlimitedKinds()
    {
        return Stream.of(
                // revocable memory has no per-node limit on a worker (Trino)
                arguments("revocable", QuerySession.of("alice"), kind(OperatorMemoryContext::revocableMemory)),
                // retry_policy=TASK lifts the per-node limits: only the pool and the killers apply
                arguments("user, retry_policy=TASK", QuerySession.builder("alice").retryPolicy(RetryPolicy.TASK).build(), kind(OperatorMemoryContext::userMemory)),
                // no query.max-total-memory-per-node is configured, so system memory has no per-node limit
                arguments("system", QuerySession.of("alice"), kind(OperatorMemoryContext::systemMemory)),
                arguments("system, resource_overcommit", QuerySession.builder("alice").property(QuerySession.RESOURCE_OVERCOMMIT, "true").build(),
                        kind(OperatorMemoryContext::systemMemory)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unlimitedKinds")
    void aSecondOperatorThatWouldOverflowTheQueryIsRefusedAndChangesNothing(String name, QuerySession session, Function<OperatorMemoryContext, LocalMemoryContext> kind)
    {
        try (MemoryEngine engine = engine()) {
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), session);
            TaskMemoryContext task = query.addTask("0");
            LocalMemoryContext first = kind.apply(task.addOperator("HashAggregation"));
            LocalMemoryContext second = kind.apply(task.addOperator("OrderBy"));
            // over the pool's maximum: recorded, and the caller is told to wait
            assertThat(first.setBytes(HALF_PLUS_ONE)).isNotDone();
            MemoryPoolInfo before = pool.info();
            long[] countersBefore = counters(query, task, node);

            assertThatThrownBy(() -> second.setBytes(HALF_PLUS_ONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(Long.toString(HALF_PLUS_ONE))
                    .hasMessageContaining("query q1")
                    .hasMessageContaining(OVERFLOW);
            assertThatThrownBy(() -> second.trySetBytes(HALF_PLUS_ONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(Long.toString(HALF_PLUS_ONE));

            assertThat(second.bytes()).isZero();
            assertThat(counters(query, task, node)).isEqualTo(countersBefore);
            assertThat(pool.info()).isEqualTo(before);
            // a reservation that fits is still taken once the first one went
            first.setBytes(0);
            assertThat(second.setBytes(HALF_PLUS_ONE)).isNotDone();

            query.close();
            assertEmpty(node);
        }
    }

    @Test
    void aQueryThatWouldOverflowTheNodesTrackerIsRefusedAndChangesNothing()
    {
        // two users' queries share only the node's tracker level and the pool: the tracker refuses first
        try (MemoryEngine engine = engine()) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext alice = node.createQuery(QueryId.of("q1"), QuerySession.builder("alice").retryPolicy(RetryPolicy.TASK).build());
            QueryMemoryContext bob = node.createQuery(QueryId.of("q2"), QuerySession.builder("bob").retryPolicy(RetryPolicy.TASK).build());
            LocalMemoryContext first = alice.addTask("0").addOperator("HashAggregation").userMemory();
            TaskMemoryContext bobsTask = bob.addTask("0");
            LocalMemoryContext second = bobsTask.addOperator("HashAggregation").userMemory();
            first.setBytes(HALF_PLUS_ONE);
            MemoryPoolInfo before = node.pool().info();

            assertThatThrownBy(() -> second.setBytes(HALF_PLUS_ONE))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                    .hasMessageContaining(Long.toString(HALF_PLUS_ONE))
                    .hasMessageContaining("node")
                    .hasMessageContaining(OVERFLOW);
            // the try path's refusal is a plain false, as for any level's limit
            assertThat(second.trySetBytes(HALF_PLUS_ONE)).isFalse();

            assertThat(counters(bob, bobsTask, node)).containsExactly(0, 0, 0, 0, 0, 0, HALF_PLUS_ONE);
            assertThat(bob.tracker().usedBytes()).isZero();
            assertThat(bob.tracker().parent().orElseThrow().usedBytes()).isZero();
            assertThat(node.pool().info()).isEqualTo(before);

            alice.close();
            bob.close();
            assertEmpty(node);
        }
    }

    @Test
    void aReservationThatWouldOverflowThePoolsUserAndRevocableSumIsRefusedAndChangesNothing()
    {
        // user and revocable memory are counted apart everywhere but in the pool's claimed sum, which both fill
        try (MemoryEngine engine = engine()) {
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.builder("alice").retryPolicy(RetryPolicy.TASK).build());
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext operator = task.addOperator("HashAggregation");
            operator.userMemory().setBytes(HALF_PLUS_ONE);
            MemoryPoolInfo before = pool.info();
            long freeBefore = pool.freeBytes();

            assertThatThrownBy(() -> operator.revocableMemory().setBytes(HALF_PLUS_ONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(Long.toString(HALF_PLUS_ONE))
                    .hasMessageContaining("pool 'general'")
                    .hasMessageContaining(OVERFLOW);
            // the try path sees a full pool first
            assertThat(operator.revocableMemory().trySetBytes(HALF_PLUS_ONE)).isFalse();

            assertThat(operator.revocableMemory().bytes()).isZero();
            assertThat(query.revocableBytes()).isZero();
            assertThat(task.revocableBytes()).isZero();
            assertThat(pool.info()).isEqualTo(before);
            assertThat(pool.freeBytes()).isEqualTo(freeBefore);

            query.close();
            assertEmpty(node);
        }
    }

    private static MemoryEngine engine()
    {
        return NodeMemoryScenariosTest.engine(Map.of("node.heap-size", "64MB"));
    }

    private static Function<OperatorMemoryContext, LocalMemoryContext> kind(Function<OperatorMemoryContext, LocalMemoryContext> kind)
    {
        return kind;
    }

    // the query's and task's counters of every kind, and the node's tracker
    private static long[] counters(QueryMemoryContext query, TaskMemoryContext task, NodeMemory node)
    {
        return new long[] {query.userBytes(), query.systemBytes(), query.revocableBytes(), task.userBytes(), task.systemBytes(), task.revocableBytes(),
                node.rootTracker().usedBytes()};
    }

    private static void assertEmpty(NodeMemory node)
    {
        MemoryPool pool = node.pool();
        MemoryTracker root = node.rootTracker();
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
        assertThat(pool.info().queryMemoryReservations()).isEmpty();
        assertThat(pool.info().queryMemoryRevocableReservations()).isEmpty();
        assertThat(pool.info().taskMemoryReservations()).isEmpty();
        assertThat(root.usedBytes()).isZero();
    }
}
