package io.memgov.plugin.blockednodes;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.testing.KillerFixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.memgov.testing.KillerFixtures.queries;
import static io.memgov.testing.KillerFixtures.query;
import static org.assertj.core.api.Assertions.assertThat;

final class TotalReservationOnBlockedNodesQueryLowMemoryKillerTest
{
    // research scenario 11: a 12-byte pool on each of five nodes; only n2 is blocked (8 + 5 = 13)
    private static final Map<String, Map<String, Long>> SCENARIO_11 = Map.of(
            "q1", Map.of("n2", 8L),
            "q2", Map.of("n1", 3L, "n2", 5L, "n3", 2L, "n4", 4L, "n5", 0L),
            "q3", Map.of("n3", 9L));

    private final LowMemoryKiller killer = new TotalReservationOnBlockedNodesQueryLowMemoryKiller();

    @Test
    void killsQueryWithLargestReservationOnBlockedNodes()
    {
        // q2 is the largest overall (14), but on the only blocked node q1 holds 8 against q2's 5: killing q1 unblocks n2
        KillerFixtures.Cluster cluster = queries(SCENARIO_11);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q1")));
    }

    @Test
    void killsNothingWhenNoNodeIsBlocked()
    {
        // with 14-byte pools n2 (13) has room: the cluster is not out of memory, whatever the killer is asked
        KillerFixtures.Cluster cluster = queries(SCENARIO_11).poolBytes(14);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void killsNothingWhenBlockedNodesHoldNothing()
    {
        // zero-byte pools are blocked while empty; killing a query that holds nothing there would free nothing
        KillerFixtures.Cluster cluster = queries(Map.of(
                "q1", Map.of("n1", 0L, "n2", 0L),
                "q2", Map.of("n2", 0L, "n3", 0L))).poolBytes(0);
        assertThat(cluster.nodes()).allMatch(node -> node.isBlocked());

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void sparesQueriesThatRetryTasks()
    {
        // q2 now holds the most on n2 (10 against 8); without task retry it is the victim, with it the task killer owns it
        Map<String, Map<String, Long>> table = Map.of(
                "q1", Map.of("n2", 8L),
                "q2", Map.of("n1", 3L, "n2", 10L, "n3", 2L, "n4", 4L, "n5", 0L),
                "q3", Map.of("n3", 9L));

        KillerFixtures.Cluster noRetry = queries(table);
        assertThat(killer.chooseTargetToKill(noRetry.runningQueries(), noRetry.nodes()))
                .contains(KillTarget.wholeQuery(query("q2")));

        KillerFixtures.Cluster taskRetry = queries(table).retryPolicy("q2", RetryPolicy.TASK);
        assertThat(killer.chooseTargetToKill(taskRetry.runningQueries(), taskRetry.nodes()))
                .contains(KillTarget.wholeQuery(query("q1")));
    }

    @Test
    void sumsReservationsOverEveryBlockedNodeButNoOther()
    {
        // n1 and n2 are blocked at 10: q1 holds 12 there, q2 only 8; q2's 9 bytes on unblocked n3 must not count
        KillerFixtures.Cluster cluster = queries(Map.of(
                "q1", Map.of("n1", 6L, "n2", 6L),
                "q2", Map.of("n1", 4L, "n2", 4L, "n3", 9L))).poolBytes(10);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q1")));
    }

    @Test
    void killsNothingWhenTheLargestHolderIsNoLongerRunning()
    {
        // q1 just ended and its 8 bytes are on their way out: killing q2 as well would be one kill too many (trino PR#11788)
        KillerFixtures.Cluster cluster = queries(SCENARIO_11).notRunning("q1");

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void breaksTiesInFavourOfTheSmallerQueryId()
    {
        // pool maps have no order, so a tie needs a rule of its own to give the same victim every time
        KillerFixtures.Cluster cluster = queries(Map.of(
                "q2", Map.of("n1", 5L),
                "q1", Map.of("n1", 5L))).poolBytes(10);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q1")));
    }

    @Test
    void aNodeBlockedByItsDirectPoolOffersTheQueriesHoldingDirectMemory()
    {
        // n1's heap pool has room (q1 holds 60 of 100), its direct pool is full (q2 holds 10 of 10): killing q1 would free
        // no direct memory, so q2 is the victim although it holds less in all
        KillerFixtures.Cluster cluster = queries(Map.of("q1", Map.of("n1", 60L), "q2", Map.of("n1", 0L))).poolBytes(100);
        MemoryPoolInfo direct = new MemoryPoolInfo("direct", 10, 10, 0, Map.of(query("q2"), 10L), Map.of(), Map.of(), Map.of(), Map.of(), MemoryPoolKind.DIRECT);
        NodeMemoryInfo n1 = new NodeMemoryInfo(NodeId.of("n1"), List.of(cluster.nodes().get(0).generalPool(), direct));

        assertThat(n1.isBlocked()).isTrue();
        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), List.of(n1))).contains(KillTarget.wholeQuery(query("q2")));

        // with room in the direct pool too, the node is not blocked and nothing is killed
        NodeMemoryInfo roomy = new NodeMemoryInfo(NodeId.of("n1"), List.of(cluster.nodes().get(0).generalPool(), MemoryPoolInfo.empty("direct", 20).withKind(MemoryPoolKind.DIRECT)));
        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), List.of(roomy))).isEmpty();
    }

    @Test
    void aNodeBlockedInBothPoolsSumsWhatEachQueryHoldsInBoth()
    {
        // both pools of n1 are full: q1 holds 8 heap + 1 direct = 9, q2 2 heap + 9 direct = 11
        KillerFixtures.Cluster cluster = queries(Map.of("q1", Map.of("n1", 8L), "q2", Map.of("n1", 2L))).poolBytes(10);
        MemoryPoolInfo direct = new MemoryPoolInfo("direct", 10, 10, 0, Map.of(query("q1"), 1L, query("q2"), 9L), Map.of(), Map.of(), Map.of(), Map.of(),
                MemoryPoolKind.DIRECT);
        NodeMemoryInfo n1 = new NodeMemoryInfo(NodeId.of("n1"), List.of(cluster.nodes().get(0).generalPool(), direct));

        assertThat(n1.blockedPools()).extracting(MemoryPoolInfo::poolId).containsExactly("general", "direct");
        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), List.of(n1))).contains(KillTarget.wholeQuery(query("q2")));
    }
}
