package io.memgov.plugin.blockednodes;

import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.testing.KillerFixtures;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static io.memgov.testing.KillerFixtures.taskSet;
import static io.memgov.testing.KillerFixtures.tasks;
import static org.assertj.core.api.Assertions.assertThat;

final class LeastWasteTaskLowMemoryKillerTest
{
    private final LowMemoryKiller killer = new LeastWasteTaskLowMemoryKiller();

    @Test
    void killsTheTaskWithMostBytesPerSecondOfWorkOnEachBlockedNode()
    {
        // research scenario 12, both nodes blocked at 10: 3B/60s beats 6B/200s on n1 and 2B/60s beats 8B/600s on n2,
        // where the largest-task killer would throw away 200 s and 600 s of work
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of(
                        "n1", Map.of("t1", 3L, "t2", 1L, "t3", 6L),
                        "n2", Map.of("t4", 8L, "t5", 2L))))
                .poolBytes(10)
                .retryPolicy("q1", RetryPolicy.TASK)
                .executionTime("q1.t1", Duration.ofSeconds(60))
                .executionTime("q1.t2", Duration.ofSeconds(60))
                .executionTime("q1.t3", Duration.ofSeconds(200))
                .executionTime("q1.t4", Duration.ofSeconds(600))
                .executionTime("q1.t5", Duration.ofSeconds(60));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q1.t1", "q1.t5")));
        assertThat(new TotalReservationOnBlockedNodesTaskLowMemoryKiller().chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q1.t3", "q1.t4")));
    }

    @Test
    void treatsTasksYoungerThanThirtySecondsAsThirtySecondsOld()
    {
        // without the floor a 1-second-old task would score 4 B/s and die for being young; with it 6B beats 4B
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 4L, "t2", 6L))))
                .poolBytes(10)
                .retryPolicy("q1", RetryPolicy.TASK)
                .executionTime("q1.t1", Duration.ofSeconds(1))
                .executionTime("q1.t2", Duration.ofSeconds(20));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q1.t2")));
    }

    @Test
    void prefersSpeculativeTasksOverLessWastefulOnes()
    {
        // speculative work is optional, so it goes first even when it has run much longer
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 3L, "t2", 9L))))
                .retryPolicy("q1", RetryPolicy.TASK)
                .speculative("q1.t2")
                .executionTime("q1.t1", Duration.ofSeconds(60))
                .executionTime("q1.t2", Duration.ofSeconds(6000));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q1.t2")));
    }

    @Test
    void killsNothingWithoutQueriesThatRetryTasks()
    {
        // the same cluster without task retry: killing any task would fail its query, so leave it to the query killer
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 3L, "t2", 9L))));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }
}
