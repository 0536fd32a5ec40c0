package io.memgov.plugin.treetracking;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static io.memgov.plugin.treetracking.TrackerFixture.query;
import static io.memgov.plugin.treetracking.TrackerFixture.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Scenarios 5 and 6 of research/others.md §4, scaled from GB to MiB: a node limit of 8 MiB, soft limits of 1 MiB,
 * query A (alice) at 6 MiB and query B (bob) at 2 MiB, with real threads.
 */
final class OvercommitTest
{
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void shutDown()
    {
        executor.shutdownNow();
    }

    private static TrackerFixture cluster(Map<String, String> overrides)
    {
        Map<String, String> config = new HashMap<>(Map.of(
                "max-untracked-memory", "0",
                "max-server-memory-usage", "8MB",
                "memory-overcommit-ratio-denominator", "1MB",
                "memory-overcommit-ratio-denominator-for-user", "1MB",
                "memory-usage-overcommit-max-wait", "5s"));
        config.putAll(overrides);
        return tree(config);
    }

    @Test
    void scenario5VictimIsKilledAndRequesterResumesOnceItsMemoryIsReleased()
            throws Exception
    {
        try (TrackerFixture fixture = cluster(Map.of())) {
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(fixture.user("bob"), "B");
            queryA.allocate(6 * MIB);
            queryB.allocate(2 * MIB);
            CountDownLatch killed = new CountDownLatch(1);
            fixture.context.onFailQuery(failed -> killed.countDown());

            Future<?> request = executor.submit(() -> queryB.allocate(MIB));

            assertThat(killed.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(fixture.context.failQueryCalls()).singleElement().satisfies(failed -> {
                assertThat(failed.queryId()).isEqualTo(QueryId.of("A"));
                assertThat(failed.errorCode()).isEqualTo(ErrorCode.KILLED_BY_OVERCOMMIT);
                assertThat(failed.message()).contains("overcommit", "query B");
            });
            // B waits while A still holds its memory
            awaitWaiters(fixture, 1);
            await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .untilAsserted(() -> assertThat(request.isDone()).as("B's request, while A holds its memory").isFalse());

            // A's operator thread releases its memory, as the engine does for a failed query
            executor.submit(() -> {
                queryA.free(6 * MIB);
                queryA.close();
            }).get(5, TimeUnit.SECONDS);

            request.get(5, TimeUnit.SECONDS);
            assertThat(queryB.usedBytes()).isEqualTo(3 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(3 * MIB);
            assertThat(fixture.treeState().overcommitKills()).isEqualTo(1);
        }
    }

    @Test
    void scenario5RequesterTimesOutWhenTheVictimKeepsItsMemory()
    {
        try (TrackerFixture fixture = cluster(Map.of("memory-usage-overcommit-max-wait", "300ms"))) {
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(fixture.user("bob"), "B");
            queryA.allocate(6 * MIB);
            queryB.allocate(2 * MIB);

            long start = System.nanoTime();
            Future<?> request = executor.submit(() -> queryB.allocate(MIB));

            assertThatThrownBy(() -> request.get(5, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessageStartingWith("Memory limit (total) exceeded: would use 9.00 MiB (attempt to allocate chunk of 1.00 MiB), maximum: 8.00 MiB.")
                    .hasMessageContaining("OvercommitTracker decision:")
                    .hasMessageContaining("TIMEOUTED");
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
            assertThat(fixture.context.failQueryCalls()).extracting(TestingNodeContext.FailedQuery::queryId).containsExactly(QueryId.of("A"));
            // nothing of the failed request stayed anywhere
            assertThat(queryB.usedBytes()).isEqualTo(2 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(8 * MIB);
        }
    }

    @Test
    void victimIsPickedOncePerEpisodeForConcurrentRequesters()
            throws Exception
    {
        try (TrackerFixture fixture = cluster(Map.of())) {
            MemoryTracker bob = fixture.user("bob");
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(bob, "B");
            MemoryTracker queryC = query(bob, "C");
            queryA.allocate(6 * MIB);
            queryB.allocate(MIB);
            queryC.allocate(MIB);

            Future<?> requestB = executor.submit(() -> queryB.allocate(MIB));
            Future<?> requestC = executor.submit(() -> queryC.allocate(MIB));
            // both reach the limit and wait on the same victim, then A is released
            awaitWaiters(fixture, 2);
            assertThat(fixture.root.overcommit().victim()).isSameAs(queryA);
            assertThat(requestB.isDone()).isFalse();
            assertThat(requestC.isDone()).isFalse();
            queryA.free(6 * MIB);
            queryA.close();

            requestB.get(5, TimeUnit.SECONDS);
            requestC.get(5, TimeUnit.SECONDS);
            assertThat(fixture.context.failQueryCalls()).extracting(TestingNodeContext.FailedQuery::queryId).containsExactly(QueryId.of("A"));
            assertThat(fixture.root.usedBytes()).isEqualTo(4 * MIB);
        }
    }

    @Test
    void nextEpisodePicksANewVictimAfterThePreviousOneStopped()
    {
        try (TrackerFixture fixture = cluster(Map.of())) {
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(fixture.user("bob"), "B");
            MemoryTracker queryD = query(fixture.user("dave"), "D");
            queryA.allocate(6 * MIB);
            queryB.allocate(2 * MIB);
            // the engine releases a failed query's memory and closes its tracker
            Map<String, MemoryTracker> byId = Map.of("A", queryA, "D", queryD);
            fixture.context.onFailQuery(failed -> executor.submit(() -> {
                MemoryTracker victim = byId.get(failed.queryId().id());
                victim.free(victim.usedBytes());
                victim.close();
            }));

            queryB.allocate(MIB);
            queryD.allocate(5 * MIB);
            queryB.allocate(MIB);

            assertThat(fixture.context.failQueryCalls()).extracting(failed -> failed.queryId().id()).containsExactly("A", "D");
            assertThat(queryB.usedBytes()).isEqualTo(4 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(4 * MIB);
        }
    }

    @Test
    void requesterFailsWithNotEnoughFreedWhenTheVictimStopsWithoutReleasing()
    {
        try (TrackerFixture fixture = cluster(Map.of())) {
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(fixture.user("bob"), "B");
            queryA.allocate(6 * MIB);
            queryB.allocate(2 * MIB);
            // the victim stops but leaves its memory accounted (a leak): waiting longer would not help
            fixture.context.onFailQuery(failed -> executor.submit(queryA::close));

            long start = System.nanoTime();
            assertThatThrownBy(() -> queryB.allocate(MIB))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessageContaining("NOT_ENOUGH_FREED");
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(4));
        }
    }

    @Test
    void scenario6RequesterWithTheLargestRatioIsSelectedToStopAtOnce()
    {
        try (TrackerFixture fixture = cluster(Map.of())) {
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(fixture.user("bob"), "B");
            queryA.allocate(6 * MIB);
            queryB.allocate(2 * MIB);

            long start = System.nanoTime();
            assertThatThrownBy(() -> queryA.allocate(MIB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                    .hasMessage("Memory limit (total) exceeded: would use 9.00 MiB (attempt to allocate chunk of 1.00 MiB), maximum: 8.00 MiB. "
                            + "OvercommitTracker decision: Query was selected to stop by OvercommitTracker (SELECTED).");
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(1));
            // it fails by throwing; nobody else is killed
            assertThat(fixture.context.failQueryCalls()).isEmpty();
            assertThat(queryA.usedBytes()).isEqualTo(6 * MIB);
        }
    }

    @Test
    void scenario6ZeroDenominatorsDisableOvercommitWithAPlainError()
    {
        try (TrackerFixture fixture = cluster(Map.of("memory-overcommit-ratio-denominator", "0", "memory-overcommit-ratio-denominator-for-user", "0"))) {
            assertPlainErrorWithoutKill(fixture);
        }
    }

    @Test
    void scenario6ZeroWaitDisablesOvercommitWithAPlainError()
    {
        try (TrackerFixture fixture = cluster(Map.of("memory-usage-overcommit-max-wait", "0"))) {
            assertPlainErrorWithoutKill(fixture);
        }
    }

    @Test
    void overcommitKillerNoneGivesAPlainError()
    {
        try (TrackerFixture fixture = cluster(Map.of("overcommit-killer", "none"))) {
            assertPlainErrorWithoutKill(fixture);
        }
    }

    @Test
    void userLimitPicksTheLargestRatioAmongThatUsersQueriesOnly()
            throws Exception
    {
        try (TrackerFixture fixture = cluster(Map.of("max-memory-usage-for-user", "4MB", "max-server-memory-usage", "0"))) {
            MemoryTracker alice = fixture.user("alice");
            MemoryTracker big = query(alice, "alice-big");
            MemoryTracker small = query(alice, "alice-small");
            // bob's query is larger, but bob is not over his limit: he is no candidate
            MemoryTracker bobs = query(fixture.user("bob"), "bob-huge");
            bobs.allocate(3 * MIB);
            big.allocate(3 * MIB);
            small.allocate(MIB);
            fixture.context.onFailQuery(failed -> executor.submit(() -> {
                big.free(3 * MIB);
                big.close();
            }));

            small.allocate(MIB);

            assertThat(fixture.context.failQueryCalls()).extracting(TestingNodeContext.FailedQuery::queryId)
                    .containsExactly(QueryId.of("alice-big"));
            assertThat(small.usedBytes()).isEqualTo(2 * MIB);
            assertThat(alice.usedBytes()).isEqualTo(2 * MIB);
            assertThat(bobs.usedBytes()).isEqualTo(3 * MIB);
        }
    }

    @Test
    void heldBackFreesAreTakenBeforeAnyoneIsKilled()
            throws Exception
    {
        try (TrackerFixture fixture = cluster(Map.of("max-untracked-memory", "2MB"))) {
            MemoryTracker queryA = query(fixture.user("alice"), "A");
            MemoryTracker queryB = query(fixture.user("bob"), "B");
            queryA.allocate(6 * MIB);
            queryB.allocate(MIB);
            queryB.flush();
            assertThat(fixture.root.usedBytes()).isEqualTo(7 * MIB);
            // another thread of A frees 1.5 MiB, which stays in that thread's cell
            executor.submit(() -> queryA.free(3 * MIB / 2)).get();
            assertThat(fixture.root.usedBytes()).isEqualTo(7 * MIB);
            assertThat(fixture.root.untrackedBytes()).isEqualTo(-3 * MIB / 2);

            // 7 + 2.5 MiB is over 8 MiB only because of the frees held back
            queryB.allocate(5 * MIB / 2);

            assertThat(fixture.context.failQueryCalls()).isEmpty();
            assertThat(fixture.root.usedBytes()).isEqualTo(8 * MIB);
            assertThat(fixture.root.untrackedBytes()).isZero();
            assertThat(queryA.usedBytes()).isEqualTo(9 * MIB / 2);
        }
    }

    private static void awaitWaiters(TrackerFixture fixture, int waiters)
    {
        await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(5)).until(() -> fixture.root.overcommit().waiters() >= waiters);
        assertThat(fixture.root.overcommit().waiters()).isEqualTo(waiters);
    }

    private static void assertPlainErrorWithoutKill(TrackerFixture fixture)
    {
        MemoryTracker queryA = query(fixture.user("alice"), "A");
        MemoryTracker queryB = query(fixture.user("bob"), "B");
        queryA.allocate(6 * MIB);
        queryB.allocate(2 * MIB);

        long start = System.nanoTime();
        assertThatThrownBy(() -> queryB.allocate(MIB))
                .isInstanceOf(MemoryLimitExceededException.class)
                .hasMessage("Memory limit (total) exceeded: would use 9.00 MiB (attempt to allocate chunk of 1.00 MiB), maximum: 8.00 MiB.");
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(1));
        assertThat(fixture.context.failQueryCalls()).isEmpty();
        assertThat(queryB.usedBytes()).isEqualTo(2 * MIB);
    }
}
