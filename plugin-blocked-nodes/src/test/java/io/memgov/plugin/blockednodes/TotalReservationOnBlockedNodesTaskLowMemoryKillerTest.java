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

import static io.memgov.testing.KillerFixtures.query;
import static io.memgov.testing.KillerFixtures.task;
import static io.memgov.testing.KillerFixtures.taskSet;
import static io.memgov.testing.KillerFixtures.tasks;
import static org.assertj.core.api.Assertions.assertThat;

final class TotalReservationOnBlockedNodesTaskLowMemoryKillerTest
{
    private final LowMemoryKiller killer = new TotalReservationOnBlockedNodesTaskLowMemoryKiller();

    @Test
    void killsNothingWithoutQueriesThatRetryTasks()
    {
        // n1 is blocked at 13, but killing a task of a query without task retry would fail the whole query
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 8L, "t2", 5L))));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void killsTheLargestTaskOnEachBlockedNode()
    {
        // n1 and n2 are blocked at 13, n3 is not: one task each on n1 and n2, the largest there, whichever query owns it
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 3L, "t2", 10L), "n2", Map.of("t3", 4L)),
                "q2", Map.of("n2", Map.of("t4", 9L), "n3", Map.of("t5", 5L))))
                .retryPolicy("q1", RetryPolicy.TASK)
                .retryPolicy("q2", RetryPolicy.TASK);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q1.t2", "q2.t4")));
    }

    @Test
    void ignoresTasksOfQueriesThatDoNotRetryTasks()
    {
        // q1's 10-byte task is the largest on n1, but only q2 can lose a task and carry on
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 10L)),
                "q2", Map.of("n1", Map.of("t2", 3L))))
                .retryPolicy("q2", RetryPolicy.TASK);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q2.t2")));
    }

    @Test
    void prefersSpeculativeTasksOverLargerOnes()
    {
        // speculative work is optional: losing it costs less than losing a larger task the query needs
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 10L, "t2", 3L))))
                .retryPolicy("q1", RetryPolicy.TASK)
                .speculative("q1.t2");

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes()))
                .contains(KillTarget.tasks(taskSet("q1.t2")));
    }

    @Test
    void killsNothingWhenNoNodeIsBlocked()
    {
        // task retry alone is no reason to kill: the cluster has to be out of memory somewhere
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 5L), "n2", Map.of("t2", 11L))))
                .retryPolicy("q1", RetryPolicy.TASK);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void killsNothingWhenBlockedNodesHoldNoRetryableTask()
    {
        // n1 is blocked by q1, which cannot retry tasks; q2's task sits on unblocked n2: the query killer must act instead
        KillerFixtures.Cluster cluster = tasks(Map.of(
                "q1", Map.of("n1", Map.of("t1", 12L)),
                "q2", Map.of("n2", Map.of("t2", 3L))))
                .retryPolicy("q2", RetryPolicy.TASK);

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
    }

    @Test
    void aNodeBlockedByItsDirectPoolLosesTheTaskHoldingTheMostDirectMemory()
    {
        // n1's heap pool has room; its direct pool is full, mostly with t2's bytes, so t2 goes although t1 holds more heap
        KillerFixtures.Cluster cluster = tasks(Map.of("q1", Map.of("n1", Map.of("t1", 8L, "t2", 1L)))).poolBytes(100).retryPolicy("q1", RetryPolicy.TASK);
        MemoryPoolInfo direct = new MemoryPoolInfo("direct", 10, 10, 0, Map.of(query("q1"), 10L), Map.of(), Map.of(),
                Map.of(task("q1.t1"), 1L, task("q1.t2"), 9L), Map.of(), MemoryPoolKind.DIRECT);
        NodeMemoryInfo n1 = new NodeMemoryInfo(NodeId.of("n1"), List.of(cluster.nodes().get(0).generalPool(), direct));

        assertThat(killer.chooseTargetToKill(cluster.runningQueries(), List.of(n1))).contains(KillTarget.tasks(taskSet("q1.t2")));
    }
}
