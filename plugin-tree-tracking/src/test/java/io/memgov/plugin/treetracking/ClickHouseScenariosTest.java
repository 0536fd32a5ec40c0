package io.memgov.plugin.treetracking;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static io.memgov.plugin.treetracking.TrackerFixture.KIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static io.memgov.plugin.treetracking.TrackerFixture.query;
import static io.memgov.plugin.treetracking.TrackerFixture.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Scenarios 1-4 and 7 of research/others.md §4 (5 and 6 are in {@link OvercommitTest}). */
final class ClickHouseScenariosTest
{
    @Test
    void scenario1BatchesUpToFourMebibytesPerThreadEitherWay()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "4MB"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");

            query.allocate(3 * MIB);
            // 3 MiB stays in the thread: nothing propagates
            assertLevels(query, user, fixture.root, 0);
            assertThat(query.untrackedBytes()).isEqualTo(3 * MIB);
            assertThat(fixture.root.untrackedBytes()).isEqualTo(3 * MIB);

            query.allocate(2 * MIB);
            // 5 MiB passes 4 MiB: all of it is carried, the thread is back at 0
            assertLevels(query, user, fixture.root, 5 * MIB);
            assertThat(query.untrackedBytes()).isZero();

            query.free(3 * MIB);
            assertLevels(query, user, fixture.root, 5 * MIB);
            assertThat(query.untrackedBytes()).isEqualTo(-3 * MIB);
            query.free(MIB);
            // exactly -4 MiB is not past -4 MiB
            assertLevels(query, user, fixture.root, 5 * MIB);
            query.free(KIB);
            assertLevels(query, user, fixture.root, 5 * MIB - 4 * MIB - KIB);
            assertThat(query.untrackedBytes()).isZero();
            assertThat(query.peakBytes()).isEqualTo(5 * MIB);
        }
    }

    @Test
    void scenario2FailedFlushRollsBackEveryLevelWithClickHouseMessage()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "1MB", "overcommit-killer", "none"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1", 10 * MIB);
            MemoryTracker thread = query.newChild(TrackerLevel.THREAD, "worker-1", 0);
            thread.allocate(9 * MIB);
            assertThat(thread.usedBytes()).isEqualTo(9 * MIB);
            assertLevels(query, user, fixture.root, 9 * MIB);

            assertThatThrownBy(() -> thread.allocate(2 * MIB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                    .hasMessage("Memory limit (for query) exceeded: would use 11.00 MiB (attempt to allocate chunk of 2.00 MiB), maximum: 10.00 MiB.");

            // ClickHouse leaves the thread level charged; here every level is back, peaks included
            assertThat(thread.usedBytes()).isEqualTo(9 * MIB);
            assertThat(thread.peakBytes()).isEqualTo(9 * MIB);
            assertThat(thread.untrackedBytes()).isZero();
            assertLevels(query, user, fixture.root, 9 * MIB);
            assertThat(query.peakBytes()).isEqualTo(9 * MIB);
            assertThat(user.peakBytes()).isEqualTo(9 * MIB);
            assertThat(fixture.root.peakBytes()).isEqualTo(9 * MIB);
            assertThat(fixture.context.testingMetrics().counter(TrackerTree.MEMORY_LIMIT_EXCEEDED)).isEqualTo(1);
        }
    }

    @Test
    void failureAtTheNodeRollsBackUserQueryAndThread()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0", "max-server-memory-usage", "10MB", "overcommit-killer", "none"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");
            MemoryTracker thread = query.newChild(TrackerLevel.THREAD, "worker-1", 0);
            thread.allocate(9 * MIB);

            assertThatThrownBy(() -> thread.allocate(2 * MIB))
                    .hasMessage("Memory limit (total) exceeded: would use 11.00 MiB (attempt to allocate chunk of 2.00 MiB), maximum: 10.00 MiB.");
            assertThat(thread.usedBytes()).isEqualTo(9 * MIB);
            assertLevels(query, user, fixture.root, 9 * MIB);
        }
    }

    @Test
    void failureAtTheUserUsesTheUserLimit()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0", "max-memory-usage-for-user", "10MB", "overcommit-killer", "none"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker first = query(user, "q1");
            MemoryTracker second = query(user, "q2");
            first.allocate(6 * MIB);
            second.allocate(3 * MIB);

            assertThatThrownBy(() -> second.allocate(2 * MIB))
                    .hasMessage("Memory limit (for user) exceeded: would use 11.00 MiB (attempt to allocate chunk of 2.00 MiB), maximum: 10.00 MiB.");
            assertThat(second.usedBytes()).isEqualTo(3 * MIB);
            assertThat(user.usedBytes()).isEqualTo(9 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(9 * MIB);
        }
    }

    @Test
    void failedFlushLeavesTheThreadItsEarlierBalance()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "1MB", "overcommit-killer", "none"))) {
            MemoryTracker query = query(fixture.user("alice"), "q1", 10 * MIB);
            query.allocate(9 * MIB);
            query.allocate(512 * KIB);
            assertThat(query.untrackedBytes()).isEqualTo(512 * KIB);

            // the flush carries the thread's whole balance: that is the chunk that does not fit
            assertThatThrownBy(() -> query.allocate(2 * MIB))
                    .hasMessage("Memory limit (for query) exceeded: would use 11.50 MiB (attempt to allocate chunk of 2.50 MiB), maximum: 10.00 MiB.");
            assertThat(query.usedBytes()).isEqualTo(9 * MIB);
            assertThat(query.untrackedBytes()).isEqualTo(512 * KIB);
            query.flush();
            assertThat(query.usedBytes()).isEqualTo(9 * MIB + 512 * KIB);
        }
    }

    @Test
    void scenario3NoThrowScopeAllocatesOverTheLimitAndCountsIt()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "1MB"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1", 10 * MIB);
            query.allocate(9 * MIB);

            try (NoThrowScope ignored = NoThrowScope.open()) {
                assertThat(NoThrowScope.isOpen()).isTrue();
                query.allocate(2 * MIB);
            }
            assertThat(NoThrowScope.isOpen()).isFalse();
            assertLevels(query, user, fixture.root, 11 * MIB);
            assertThat(query.peakBytes()).isEqualTo(11 * MIB);
            assertThat(fixture.treeState().allocatedWithoutCheck()).isEqualTo(1);
            assertThat(fixture.treeState().allocatedWithoutCheckBytes()).isEqualTo(2 * MIB);
            assertThat(fixture.context.testingMetrics().counter(TrackerTree.ALLOCATED_WITHOUT_CHECK)).isEqualTo(1);
            assertThat(fixture.context.testingMetrics().counter(TrackerTree.ALLOCATED_WITHOUT_CHECK_BYTES)).isEqualTo(2 * MIB);
            // nobody was killed for it
            assertThat(fixture.context.failQueryCalls()).isEmpty();

            // outside the scope the limit holds again
            assertThatThrownBy(() -> query.allocate(2 * MIB)).isInstanceOf(MemoryLimitExceededException.class);

            NoThrowScope.allocateNoThrow(query, 2 * MIB);
            assertThat(query.usedBytes()).isEqualTo(13 * MIB);
            assertThat(fixture.treeState().allocatedWithoutCheck()).isEqualTo(2);
        }
    }

    @Test
    void noThrowScopeCountsOnceWhenSeveralLevelsAreOver()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0", "max-memory-usage-for-user", "4MB", "max-server-memory-usage", "4MB"))) {
            MemoryTracker query = query(fixture.user("alice"), "q1", 4 * MIB);
            NoThrowScope.allocateNoThrow(query, 5 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(5 * MIB);
            assertThat(fixture.treeState().allocatedWithoutCheck()).isEqualTo(1);
            assertThat(fixture.treeState().allocatedWithoutCheckBytes()).isEqualTo(5 * MIB);
        }
    }

    @Test
    void scenario4FreesSaturateAtQueryAndUserButReachTheNode()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0"))) {
            MemoryTracker alice = fixture.user("alice");
            MemoryTracker bob = fixture.user("bob");
            MemoryTracker query = query(alice, "q1");
            MemoryTracker other = query(bob, "q2");
            MemoryTracker thread = query.newChild(TrackerLevel.THREAD, "worker-1", 0);
            thread.allocate(MIB);
            other.allocate(5 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(6 * MIB);

            // memory freed in this context that another context allocated
            thread.free(3 * MIB);

            assertThat(thread.usedBytes()).isEqualTo(-2 * MIB);
            assertThat(query.usedBytes()).isZero();
            assertThat(alice.usedBytes()).isZero();
            assertThat(fixture.root.usedBytes()).isEqualTo(3 * MIB);
            assertThat(bob.usedBytes()).isEqualTo(5 * MIB);
        }
    }

    @Test
    void faultInjectionFailsWithAnInjectedMessageAndChangesNothing()
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0", "memory-tracker-fault-probability", "1"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");
            MemoryTracker thread = query.newChild(TrackerLevel.THREAD, "worker-1", 0);

            assertThatThrownBy(() -> thread.allocate(MIB))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                    .hasMessageContaining("fault injected by memory-tracker-fault-probability=1.0");
            assertThat(thread.usedBytes()).isZero();
            assertLevels(query, user, fixture.root, 0);

            // the no-throw scope is exempt, as in ClickHouse
            NoThrowScope.allocateNoThrow(thread, MIB);
            assertLevels(query, user, fixture.root, MIB);
        }
    }

    @Test
    void scenario7CorrectionOverwritesTheNodeTotalWhenEnabled()
    {
        AtomicLong rss = new AtomicLong(2 * MIB);
        Map<String, String> config = Map.of("max-untracked-memory", "0", "max-server-memory-usage", "8MB", "overcommit-killer", "none",
                "correction-interval", "1h", "correct-tracker", "true");
        try (TrackerFixture fixture = tree(config, rss::get)) {
            MemoryTracker query = query(fixture.user("alice"), "q1");
            query.allocate(6 * MIB);

            fixture.treeState().correctionWorker().tick();

            assertThat(fixture.root.usedBytes()).isEqualTo(2 * MIB);
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.DRIFT_GAUGE)).hasValue(4 * MIB);
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.ACTUAL_GAUGE)).hasValue(2 * MIB);
            // the query keeps its own count; only the node total is corrected
            assertThat(query.usedBytes()).isEqualTo(6 * MIB);
            query.allocate(3 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(5 * MIB);
        }
    }

    @Test
    void scenario7WithoutCorrectionATrackedTotalOverTheLimitStillThrows()
    {
        AtomicLong rss = new AtomicLong(2 * MIB);
        Map<String, String> config = Map.of("max-untracked-memory", "0", "max-server-memory-usage", "8MB", "overcommit-killer", "none",
                "correction-interval", "1h");
        try (TrackerFixture fixture = tree(config, rss::get)) {
            MemoryTracker query = query(fixture.user("alice"), "q1");
            query.allocate(6 * MIB);

            fixture.treeState().correctionWorker().tick();

            // drift is published, the total stays
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.DRIFT_GAUGE)).hasValue(4 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(6 * MIB);
            assertThatThrownBy(() -> query.allocate(3 * MIB))
                    .hasMessage("Memory limit (total) exceeded: would use 9.00 MiB (attempt to allocate chunk of 3.00 MiB), maximum: 8.00 MiB.");
        }
    }

    @Test
    void correctionNeverWritesIntoANegativeTotalWhenOff()
    {
        AtomicLong rss = new AtomicLong(3 * MIB);
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0", "correction-interval", "1h"), rss::get)) {
            // a free carried before its allocation (issue #17): the node is below zero until the allocation comes
            fixture.root.free(MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(-MIB);

            fixture.treeState().correctionWorker().tick();

            assertThat(fixture.root.usedBytes()).isEqualTo(-MIB);
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.DRIFT_GAUGE)).hasValue(-4 * MIB);
            assertThat(fixture.context.testingMetrics().counter(MemoryCorrectionWorker.CORRECTIONS)).isZero();
            fixture.root.allocate(MIB);
            assertThat(fixture.root.usedBytes()).isZero();
        }
    }

    @Test
    void correctionSetsATermAndLeavesTheTrackedSumExact()
    {
        AtomicLong rss = new AtomicLong(10 * MIB);
        Map<String, String> config = Map.of("max-untracked-memory", "0", "correction-interval", "1h", "correct-tracker", "true", "overcommit-killer", "none");
        try (TrackerFixture fixture = tree(config, rss::get)) {
            MemoryTracker query = query(fixture.user("alice"), "q1");
            // a free carried before its allocation while the worker ticks
            query.free(8 * MIB);
            fixture.treeState().correctionWorker().tick();
            assertThat(fixture.root.usedBytes()).isEqualTo(10 * MIB);
            assertThat(fixture.root.trackedBytes()).isEqualTo(-8 * MIB);

            query.allocate(8 * MIB);

            // the sum is exact; what the node reads is off by the carry until the next tick, never for good
            assertThat(fixture.root.trackedBytes()).isZero();
            assertThat(fixture.root.usedBytes()).isEqualTo(18 * MIB);
            fixture.treeState().correctionWorker().tick();
            assertThat(fixture.root.usedBytes()).isEqualTo(10 * MIB);
            assertThat(fixture.root.correctionBytes()).isEqualTo(10 * MIB);
            assertThat(query.usedBytes()).isZero();
        }
    }

    static void assertLevels(MemoryTracker query, MemoryTracker user, MemoryTracker node, long bytes)
    {
        assertThat(query.usedBytes()).as("query").isEqualTo(bytes);
        assertThat(user.usedBytes()).as("user").isEqualTo(bytes);
        assertThat(node.usedBytes()).as("node").isEqualTo(bytes);
    }
}
