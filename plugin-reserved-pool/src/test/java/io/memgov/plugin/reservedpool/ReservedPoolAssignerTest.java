package io.memgov.plugin.reservedpool;

import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Presto's promotion and out-of-memory rules on tables of node state: pools of 10 bytes (GENERAL) and 6 (RESERVED).
 */
final class ReservedPoolAssignerTest
{
    private static final ReservedPoolAssigner ASSIGNER = new ReservedPoolAssigner("general", "reserved");
    private static final MemoryPoolAssignment NOTHING_PLACED = MemoryPoolAssignment.initial();

    /** Nodes from query → node → bytes, per pool. */
    private static List<NodeMemoryInfo> nodes(Map<String, Map<String, Long>> general, Map<String, Map<String, Long>> reserved)
    {
        List<NodeMemoryInfo> nodes = new ArrayList<>();
        for (String node : List.of("n1", "n2")) {
            nodes.add(new NodeMemoryInfo(NodeId.of(node), List.of(pool("general", 10, node, general), pool("reserved", 6, node, reserved))));
        }
        return nodes;
    }

    private static MemoryPoolInfo pool(String poolId, long maxBytes, String node, Map<String, Map<String, Long>> queries)
    {
        Map<QueryId, Long> reservations = new HashMap<>();
        Map<TaskId, Long> tasks = new HashMap<>();
        queries.forEach((query, byNode) -> {
            long bytes = byNode.getOrDefault(node, 0L);
            if (bytes > 0) {
                reservations.put(QueryId.of(query), bytes);
                tasks.put(TaskId.of(QueryId.of(query), node), bytes);
            }
        });
        long reserved = reservations.values().stream().mapToLong(Long::longValue).sum();
        return new MemoryPoolInfo(poolId, maxBytes, reserved, 0, reservations, Map.of(), Map.of(), tasks, Map.of());
    }

    private static List<RunningQueryInfo> running(Map<String, Map<String, Long>> general, String... overcommitting)
    {
        List<String> overcommit = List.of(overcommitting);
        return general.entrySet().stream()
                .map(entry -> new RunningQueryInfo(QueryId.of(entry.getKey()), "user", entry.getValue().values().stream().mapToLong(Long::longValue).sum(),
                        Map.of(), RetryPolicy.NONE, 0, Instant.EPOCH, Duration.ZERO, overcommit.contains(entry.getKey())))
                .toList();
    }

    @Test
    void promotesTheLargestQueryWhenGeneralIsBlockedAndReservedIsEmpty()
    {
        // n2's GENERAL holds 11 of 10: blocked. q2 is largest cluster-wide (7), though q1 is largest on n2
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n2", 6L), "q2", Map.of("n1", 3L, "n2", 4L), "q3", Map.of("n1", 2L, "n2", 1L));

        assertThat(ASSIGNER.assign(nodes(general, Map.of()), running(general), NOTHING_PLACED)).isEqualTo(Map.of(QueryId.of("q2"), "reserved"));
        assertThat(ASSIGNER.isOutOfMemory(nodes(general, Map.of()), NOTHING_PLACED)).isFalse();
    }

    @Test
    void skipsQueriesThatAskedForResourceOvercommit()
    {
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n2", 6L), "q2", Map.of("n1", 3L, "n2", 4L), "q3", Map.of("n1", 2L, "n2", 1L));

        assertThat(ASSIGNER.assign(nodes(general, Map.of()), running(general, "q2"), NOTHING_PLACED)).isEqualTo(Map.of(QueryId.of("q1"), "reserved"));
    }

    @Test
    void promotesNothingWhileGeneralIsNotBlocked()
    {
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n1", 9L), "q2", Map.of("n2", 9L));

        assertThat(ASSIGNER.assign(nodes(general, Map.of()), running(general), NOTHING_PLACED)).isEmpty();
    }

    @Test
    void promotesNothingWhileReservedHoldsAQueryAndThenTheClusterIsOutOfMemory()
    {
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n1", 10L), "q2", Map.of("n2", 10L));
        Map<String, Map<String, Long>> reserved = Map.of("big", Map.of("n1", 5L, "n2", 5L));
        MemoryPoolAssignment bigReserved = new MemoryPoolAssignment(1, Map.of(QueryId.of("big"), "reserved"));

        assertThat(ASSIGNER.assign(nodes(general, reserved), running(general), bigReserved)).isEqualTo(bigReserved.placements());
        assertThat(ASSIGNER.isOutOfMemory(nodes(general, reserved), bigReserved)).isTrue();
        // assigned but holding nothing yet still counts: RESERVED is its, and another query would not fit the guarantee
        assertThat(ASSIGNER.isOutOfMemory(nodes(general, Map.of()), bigReserved)).isTrue();
        assertThat(ASSIGNER.assign(nodes(general, Map.of()), running(general), bigReserved)).isEqualTo(bigReserved.placements());
    }

    @Test
    void promotesAgainOnceNoQueryIsAssignedThoughReservedStillHoldsBytesAsPrestoDoes()
    {
        // Presto's updateAssignments checks reservedPool.getAssignedQueries() == 0, counted from the running queries'
        // pools: the promoted query ended, and the byte one node has not released yet does not hold the next promotion
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n1", 10L));
        Map<String, Map<String, Long>> reserved = Map.of("ended", Map.of("n2", 1L));

        assertThat(ASSIGNER.assign(nodes(general, reserved), running(general), NOTHING_PLACED)).isEqualTo(Map.of(QueryId.of("q1"), "reserved"));
        assertThat(ASSIGNER.isOutOfMemory(nodes(general, reserved), NOTHING_PLACED)).isFalse();
    }

    @Test
    void withReservedEmptyMemoryLeftInReservedCountsAsAQueryThere()
    {
        // promote-when=reserved-empty: the promoted query ended but one node has not released its bytes yet
        ReservedPoolAssigner strict = new ReservedPoolAssigner("general", "reserved", ReservedPoolAssigner.PromotionRule.RESERVED_EMPTY);
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n1", 10L));
        Map<String, Map<String, Long>> reserved = Map.of("ended", Map.of("n2", 1L));

        assertThat(strict.assign(nodes(general, reserved), running(general), NOTHING_PLACED)).isEmpty();
        assertThat(strict.isOutOfMemory(nodes(general, reserved), NOTHING_PLACED)).isTrue();
    }

    @Test
    void isNotOutOfMemoryWhenReservedHoldsAQueryButGeneralHasRoom()
    {
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n1", 9L));
        MemoryPoolAssignment bigReserved = new MemoryPoolAssignment(1, Map.of(QueryId.of("big"), "reserved"));

        assertThat(ASSIGNER.isOutOfMemory(nodes(general, Map.of("big", Map.of("n1", 6L))), bigReserved)).isFalse();
    }

    @Test
    void breaksTiesByQueryIdAndIgnoresEmptyQueries()
    {
        Map<String, Map<String, Long>> general = Map.of("b", Map.of("n1", 5L), "a", Map.of("n1", 5L), "empty", Map.of());

        assertThat(ASSIGNER.assign(nodes(general, Map.of()), running(general), NOTHING_PLACED)).isEqualTo(Map.of(QueryId.of("a"), "reserved"));
    }

    @Test
    void showsTheKillersGeneralOnly()
    {
        assertThat(ASSIGNER.isVisibleToKillers("general")).isTrue();
        assertThat(ASSIGNER.isVisibleToKillers("reserved")).isFalse();
    }

    @Test
    void aBlockedDirectPoolIsOutOfMemoryWithoutAQueryInReserved()
    {
        // GENERAL has room and RESERVED is empty: Presto's rule says not out of memory; n1's direct pool is full
        Map<String, Map<String, Long>> general = Map.of("q1", Map.of("n1", 2L));
        List<NodeMemoryInfo> nodes = new ArrayList<>(nodes(general, Map.of()));
        NodeMemoryInfo n1 = nodes.get(0);
        MemoryPoolInfo direct = pool("direct", 4, "n1", Map.of("q1", Map.of("n1", 4L))).withKind(MemoryPoolKind.DIRECT);
        List<MemoryPoolInfo> pools = new ArrayList<>(n1.pools());
        pools.add(direct);
        nodes.set(0, new NodeMemoryInfo(n1.nodeId(), pools));

        assertThat(ASSIGNER.isOutOfMemory(nodes, NOTHING_PLACED)).isTrue();
        // the same direct pool with room left is not
        pools.set(pools.size() - 1, pool("direct", 8, "n1", Map.of("q1", Map.of("n1", 4L))).withKind(MemoryPoolKind.DIRECT));
        nodes.set(0, new NodeMemoryInfo(n1.nodeId(), pools));
        assertThat(ASSIGNER.isOutOfMemory(nodes, NOTHING_PLACED)).isFalse();
    }
}
