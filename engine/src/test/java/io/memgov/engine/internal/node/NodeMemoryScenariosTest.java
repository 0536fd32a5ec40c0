package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.memgov.spi.policy.DataSizes.succinct;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Scenarios 5-9 of trino-presto.md §5, through the engine's query / task / operator contexts (Trino's
 * {@code TestMemoryBlocking}, {@code TestMemoryContexts}, {@code TestQueryContext}). Each test builds a real engine
 * whose pool is made small with {@code node.heap-size} and {@code memory.pool.fixed.max-size}.
 */
final class NodeMemoryScenariosTest
{
    private static final long MB = 1024 * 1024;

    /**
     * An engine for scenarios that check Trino's exact figures: {@code memory.reservation-quantum=0B} unless the
     * properties set it, so that every context reserves the bytes it was set to.
     */
    static MemoryEngine engine(Map<String, String> properties)
    {
        Map<String, String> exact = new HashMap<>(properties);
        exact.putIfAbsent("memory.reservation-quantum", "0B");
        return MemoryEngine.builder().withoutClassPathDiscovery().properties(exact).build();
    }

    @Test
    void revocableMemoryBlocksTheDriverUntilEnoughIsFreed()
    {
        // Scenario 5: revocable bytes count against the pool, so a driver spilling-capable operator still has to wait
        // pool = heap 20MB - headroom 10MB = 10MB, and the per-node limit lets one query fill it
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB"))) {
            MemoryPool pool = engine.node(0).pool();
            assertThat(pool.maxBytes()).isEqualTo(10 * MB);
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext user = task.addOperator("Exchange");
            OperatorMemoryContext revocable = task.addOperator("HashAggregation");

            assertThat(user.userMemory().setBytes(10 * MB - 2)).isDone();
            Driver driver = new Driver(revocable.revocableMemory(), 10);

            assertThat(driver.runUntilBlocked()).isEqualTo(2);
            assertThat(driver.blocked).isNotDone();
            assertThat(pool.freeBytes()).isZero();

            user.userMemory().setBytes(10 * MB - 2 - 5);
            assertThat(driver.blocked).isDone();
            assertThat(driver.runUntilBlocked()).isEqualTo(5);
            assertThat(driver.blocked).isNotDone();

            user.userMemory().setBytes(10 * MB - 2 - 5 - 3);
            assertThat(driver.runUntilBlocked()).isEqualTo(3);
            assertThat(driver.finished()).isTrue();
            assertThat(task.revocableBytes()).isEqualTo(10);
            assertThat(query.revocableBytes()).isEqualTo(10);
            assertThat(pool.reservedRevocableBytes()).isEqualTo(10);

            // a revoke (the operator spilling and dropping its revocable bytes) also unblocks waiters
            MemoryFuture blockedAgain = user.userMemory().addBytes(1);
            assertThat(blockedAgain).isNotDone();
            revocable.revocableMemory().setBytes(0);
            assertThat(blockedAgain).isDone();
            // held to the end: a collected "user" would release its bytes and unblock the driver on its own
            Reference.reachabilityFence(user);
        }
    }

    @Test
    void aBlankOperatorTagIsRefusedNamingWhatIsExpected()
    {
        // the tag names the operator in per-tag totals and kill messages: an empty one was accepted
        try (MemoryEngine engine = engine(Map.of("node.heap-size", "100MB"))) {
            TaskMemoryContext task = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");

            for (String blank : new String[] {"", "  "}) {
                assertThatThrownBy(() -> task.addOperator(blank))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("tag is blank: '" + blank + "'; expected the operator kind, such as HashAggregation");
            }
            assertThat(engine.node(0).pool().info().queryMemoryAllocations()).isEmpty();
        }
    }

    @Test
    void operatorsAddUpToTheTaskAndClosingTheTaskReleasesEverything()
    {
        // Scenario 6: the tree must add up at every level, and a closed context must not silently accept bytes again
        try (MemoryEngine engine = engine(Map.of("node.heap-size", "100MB"))) {
            MemoryPool pool = engine.node(0).pool();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext first = task.addOperator("first");
            OperatorMemoryContext second = task.addOperator("second");

            first.userMemory().setBytes(10);
            second.userMemory().setBytes(20);
            assertThat(task.userBytes()).isEqualTo(30);
            assertThat(query.userBytes()).isEqualTo(30);
            assertThat(query.tracker().usedBytes()).isEqualTo(30);
            assertThat(pool.reservedBytes()).isEqualTo(30);

            task.close();
            assertThat(task.userBytes()).isZero();
            assertThat(query.userBytes()).isZero();
            assertThat(query.tracker().usedBytes()).isZero();
            assertThat(pool.reservedBytes()).isZero();
            assertThat(query.tasks()).isEmpty();

            assertThatThrownBy(() -> first.userMemory().setBytes(1))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already closed");
            assertThatThrownBy(() -> second.revocableMemory().trySetBytes(1))
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> task.addOperator("third"))
                    .isInstanceOf(IllegalStateException.class);
            task.close(); // idempotent
            first.close(); // idempotent
        }
    }

    @Test
    void trySetBytesRefusesWhatWouldOverCommitThePoolAndChangesNothing()
    {
        // Scenario 7: the try path must never over-commit, and a refusal must leave the previous value in place
        try (MemoryEngine engine = engine(Map.of("node.heap-size", "1MB", "memory.pool.fixed.max-size", "1000"))) {
            MemoryPool pool = engine.node(0).pool();
            assertThat(pool.maxBytes()).isEqualTo(1000);
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("test").userMemory();

            assertThat(memory.trySetBytes(500)).isTrue();
            assertThat(memory.bytes()).isEqualTo(500);
            assertThat(memory.trySetBytes(1000)).isTrue();
            assertThat(memory.bytes()).isEqualTo(1000);
            assertThat(memory.trySetBytes(1001)).isFalse();
            assertThat(memory.bytes()).isEqualTo(1000);
            assertThat(pool.reservedBytes()).isEqualTo(1000);
            assertThat(query.userBytes()).isEqualTo(1000);
            assertThat(query.tracker().usedBytes()).isEqualTo(1000);

            // lowering always succeeds
            assertThat(memory.trySetBytes(0)).isTrue();
            assertThat(pool.reservedBytes()).isZero();
        }
    }

    @Test
    void taskWithinItsOneMegabyteGuaranteeIsNotBlockedByAFullPool()
    {
        // Scenario 8: every task can make progress up to 1MB, or a full pool would deadlock tasks that hold nothing
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "20MB",
                "memory.heap-headroom-per-node", "10MB",
                "query.max-memory-per-node", "10MB"))) {
            MemoryPool pool = engine.node(0).pool();
            NodeMemory node = engine.node(0);
            OperatorMemoryContext hog = node.createQuery(QueryId.of("hog"), QuerySession.of("bob")).addTask("0").addOperator("hog");
            assertThat(hog.userMemory().setBytes(pool.maxBytes())).isNotDone();
            assertThat(pool.freeBytes()).isZero();

            LocalMemoryContext memory = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("test").userMemory();
            assertThat(memory.setBytes(1000)).isDone();
            assertThat(memory.setBytes(TaskMemoryContext.GUARANTEED_BYTES)).isDone();
            MemoryFuture blocked = memory.setBytes(TaskMemoryContext.GUARANTEED_BYTES + 1);
            assertThat(blocked).isNotDone();
            // the bytes are recorded even though the caller has to wait
            assertThat(pool.reservedBytes()).isEqualTo(pool.maxBytes() + TaskMemoryContext.GUARANTEED_BYTES + 1);

            hog.close();
            assertThat(blocked).isDone();
            Reference.reachabilityFence(memory);
        }
    }

    @Test
    void perNodeLimitThrowsWithTrinosMessageAndZeroDeltaTryOnAFullPoolSucceeds()
    {
        // Scenario 9: the message shape is what users grep for; the failed call must change nothing
        long max = 4 * MB;
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "10MB",
                "query.max-memory-per-node", "4MB",
                "memory.pool.fixed.max-size", "4MB"))) {
            MemoryPool pool = engine.node(0).pool();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("test").userMemory();

            memory.setBytes(max);
            assertThat(pool.freeBytes()).isZero();

            MemoryLimitExceededException exception = catchThrowableOfType(MemoryLimitExceededException.class, () -> memory.setBytes(max + 1));
            assertThat(exception.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT);
            assertThat(exception).hasMessage("Query exceeded per-node memory limit of %s [Allocated: %s, Delta: 1B, Top Consumers: {test=%s}]",
                    succinct(max), succinct(max), succinct(max));
            assertThat(exception).hasMessage("Query exceeded per-node memory limit of 4MB [Allocated: 4MB, Delta: 1B, Top Consumers: {test=4MB}]");
            assertThat(memory.bytes()).isEqualTo(max);
            assertThat(query.userBytes()).isEqualTo(max);
            assertThat(query.tracker().usedBytes()).isEqualTo(max);
            assertThat(pool.reservedBytes()).isEqualTo(max);

            // the try path refuses over the limit without throwing
            assertThat(memory.trySetBytes(max + 1)).isFalse();
            // a zero delta on a full pool is not an allocation
            assertThat(memory.trySetBytes(max)).isTrue();
            assertThat(pool.reservedBytes()).isEqualTo(max);
            Reference.reachabilityFence(memory);
        }
    }

    @Test
    void topConsumersListsTheThreeLargestTagsLargestFirst()
    {
        // Trino shows at most three consumers; which three, and in what order, must be stable
        try (MemoryEngine engine = engine(Map.of("node.heap-size", "10MB", "query.max-memory-per-node", "1000"))) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            Map<String, Long> held = Map.of("HashAggregation", 500L, "OrderBy", 300L, "Exchange", 100L, "Filter", 50L);
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            List<OperatorMemoryContext> operators = new ArrayList<>();
            held.forEach((tag, bytes) -> {
                OperatorMemoryContext operator = task.addOperator(tag);
                operators.add(operator);
                operator.userMemory().setBytes(bytes);
            });
            // a second operator with the same tag adds to it
            OperatorMemoryContext exchange = task.addOperator("Exchange");
            operators.add(exchange);
            exchange.userMemory().setBytes(40);

            assertThat(query.topConsumers(3)).containsExactly(
                    Map.entry("HashAggregation", 500L), Map.entry("OrderBy", 300L), Map.entry("Exchange", 140L));
            // the refused operator holds nothing; kept like the others all the same
            OperatorMemoryContext join = task.addOperator("Join");
            operators.add(join);
            assertThatThrownBy(() -> join.userMemory().setBytes(11))
                    .hasMessage("Query exceeded per-node memory limit of 1000B [Allocated: 990B, Delta: 11B, Top Consumers: {HashAggregation=500B, OrderBy=300B, Exchange=140B}]");
            Reference.reachabilityFence(operators);
        }
    }

    @Test
    void nodeTrackerLimitRejectsAnAllocationAndChangesNothing()
    {
        // memory.tracker.exact.max-server-memory-usage is ClickHouse's server limit: checked before the pool sees the bytes
        try (MemoryEngine engine = engine(Map.of("node.heap-size", "10MB", "memory.tracker.exact.max-server-memory-usage", "1000"))) {
            MemoryPool pool = engine.node(0).pool();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("test");
            operator.userMemory().setBytes(600);

            assertThatThrownBy(() -> operator.systemMemory().setBytes(401))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                    .hasMessage("Memory limit (total) exceeded: would use 1001.00 B (attempt to allocate chunk of 401.00 B), maximum: 1000.00 B.");
            assertThat(operator.userMemory().trySetBytes(1001)).isFalse();
            assertThat(operator.systemMemory().bytes()).isZero();
            assertThat(query.systemBytes()).isZero();
            assertThat(query.userBytes()).isEqualTo(600);
            assertThat(query.tracker().usedBytes()).isEqualTo(600);
            assertThat(engine.node(0).rootTracker().usedBytes()).isEqualTo(600);
            assertThat(pool.reservedBytes()).isEqualTo(600);
            Reference.reachabilityFence(operator);
        }
    }

    /** A driver that allocates one revocable byte per page and stops when the pool makes it wait (Trino's test driver). */
    private static final class Driver
    {
        private final LocalMemoryContext revocable;
        private final int pages;
        private int processed;
        private MemoryFuture blocked = MemoryFuture.NOT_BLOCKED;

        Driver(LocalMemoryContext revocable, int pages)
        {
            this.revocable = revocable;
            this.pages = pages;
        }

        /** Processes pages while not blocked; returns how many it processed. */
        int runUntilBlocked()
        {
            int before = processed;
            while (blocked.isDone() && !finished()) {
                blocked = revocable.addBytes(1);
                processed++;
            }
            return processed - before;
        }

        boolean finished()
        {
            return processed == pages;
        }
    }
}
