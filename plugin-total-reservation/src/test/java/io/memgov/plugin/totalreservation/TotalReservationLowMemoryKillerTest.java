package io.memgov.plugin.totalreservation;

import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.testing.KillerFixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static io.memgov.testing.KillerFixtures.context;
import static io.memgov.testing.KillerFixtures.queries;
import static io.memgov.testing.KillerFixtures.query;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class TotalReservationLowMemoryKillerTest
{
    // research scenario 11: a 12-byte pool on each of five nodes; only n2 is blocked (8 + 5 = 13)
    private static final Map<String, Map<String, Long>> SCENARIO_11 = Map.of(
            "q1", Map.of("n2", 8L),
            "q2", Map.of("n1", 3L, "n2", 5L, "n3", 2L, "n4", 4L, "n5", 0L),
            "q3", Map.of("n3", 9L));

    private final LowMemoryKiller killer = new TotalReservationLowMemoryKillerFactory().create(PolicyConfig.empty(), context());

    @Test
    void killsQueryWithLargestTotalReservation()
    {
        // q2 holds 14 bytes spread thinly over five nodes; this policy looks at the cluster total, not the blocked node
        KillerFixtures.Cluster cluster = queries(SCENARIO_11);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q2")));
    }

    @Test
    void killsNothingWhenNoMemoryIsReserved()
    {
        // strict > from zero: killing a query that holds nothing frees nothing and only loses work
        KillerFixtures.Cluster cluster = queries(Map.of(
                "q1", Map.of("n1", 0L, "n2", 0L),
                "q2", Map.of("n1", 0L)));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void killsNothingWhenNoQueryIsRunning()
    {
        // memory held only by ended queries is the leak detector's business, not the killer's
        KillerFixtures.Cluster cluster = queries(Map.of("q1", Map.of("n1", 20L))).notRunning("q1");

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void breaksTiesInFavourOfTheFirstQueryInTheList()
    {
        // the cluster loop's list order decides a tie, so the same input always gives the same victim
        KillerFixtures.Cluster cluster = queries(Map.of(
                "q1", Map.of("n1", 5L),
                "q2", Map.of("n2", 5L)));
        List<RunningQueryInfo> reversed = new ArrayList<>(cluster.runningQueries());
        Collections.reverse(reversed);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q1")));
        assertThat(killer.chooseTargetToKill(reversed, cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q2")));
    }

    @Test
    void killsQueriesWithTaskRetryLikeAnyOther()
    {
        // Trino's total-reservation ignores the retry policy; only the blocked-nodes killers spare TASK-retry queries
        KillerFixtures.Cluster cluster = queries(SCENARIO_11).retryPolicy("q2", RetryPolicy.TASK);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.wholeQuery(query("q2")));
    }

    @Test
    void rejectsAnyConfigurationKey()
    {
        // the policy has no settings, so any key under its prefix is a typo that must fail start-up
        assertThatThrownBy(() -> new TotalReservationLowMemoryKillerFactory().create(PolicyConfig.of("query.low-memory-killer.total-reservation.", Map.of("min-bytes", "1MB")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'query.low-memory-killer.total-reservation.min-bytes' (value '1MB'). No keys are accepted under 'query.low-memory-killer.total-reservation.'");
    }
}
