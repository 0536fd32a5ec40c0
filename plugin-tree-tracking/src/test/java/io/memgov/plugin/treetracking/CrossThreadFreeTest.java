package io.memgov.plugin.treetracking;

import io.memgov.spi.tracker.MemoryTracker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.memgov.plugin.treetracking.ClickHouseScenariosTest.assertLevels;
import static io.memgov.plugin.treetracking.TrackerFixture.KIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static io.memgov.plugin.treetracking.TrackerFixture.query;
import static io.memgov.plugin.treetracking.TrackerFixture.tree;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #17, defect 3: memory allocated on two driver threads and freed on a third, as an engine's operators do. The
 * free passes {@code -max-untracked-memory} and is carried while the allocations still sit in the drivers' cells, so
 * every level goes below zero for a while; once every thread has flushed (here: the query closed), every level must
 * be back at the exact sum, and the correction worker must not have folded the transient negative into the node.
 */
@Timeout(30)
final class CrossThreadFreeTest
{
    // each stays alive between calls, as a driver pool's threads do: their cells keep what they batched
    private final ExecutorService driverA = Executors.newSingleThreadExecutor();
    private final ExecutorService driverB = Executors.newSingleThreadExecutor();
    private final ExecutorService freer = Executors.newSingleThreadExecutor();

    @AfterEach
    void shutDown()
    {
        driverA.shutdownNow();
        driverB.shutdownNow();
        freer.shutdownNow();
    }

    @Test
    void freesCarriedBeforeTheirAllocationsLeaveEveryLevelAtZeroOnceTheQueryCloses()
            throws Exception
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "4MB"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");

            allocateOnTwoDriversAndFreeOnAThird(query);

            // the drivers still hold their 4 MiB each; the freer carried its -8 MiB
            assertThat(query.untrackedBytes()).isEqualTo(8 * MIB);
            assertThat(fixture.root.usedBytes()).isEqualTo(-8 * MIB);

            query.close();

            assertLevels(query, user, fixture.root, 0);
            assertThat(fixture.root.untrackedBytes()).isZero();
        }
    }

    @Test
    void aFreeCarriedBeforeItsAllocationIsNotLostAtTheQueryAndUserLevels()
    {
        // unbatched, so every call is carried at once: the smallest form of the same defect
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "0"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");

            query.free(MIB);
            // ClickHouse reads a query or user below zero as zero
            assertThat(query.usedBytes()).isZero();
            assertThat(user.usedBytes()).isZero();
            assertThat(fixture.root.usedBytes()).isEqualTo(-MIB);

            query.allocate(MIB);

            assertLevels(query, user, fixture.root, 0);
            query.allocate(KIB);
            assertLevels(query, user, fixture.root, KIB);
        }
    }

    @Test
    void correctionLeavesATransientNegativeNodeTotalAloneAndANewQueryOfTheUserFitsTheEmptyPool()
            throws Exception
    {
        // the numbers: a 64 MiB pool (node limit 57.6 MiB), 12.9 MiB of heap in use
        AtomicLong heap = new AtomicLong(12_900 * KIB);
        Map<String, String> config = Map.of("max-untracked-memory", "4MB", "correction-interval", "1h", "overcommit-killer", "none");
        try (TrackerFixture fixture = tree(config, heap::get, 64 * MIB)) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker first = query(user, "q1");

            allocateOnTwoDriversAndFreeOnAThird(first);
            // the worker ticks while the node is below zero
            fixture.treeState().correctionWorker().tick();
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.DRIFT_GAUGE)).hasValue(-8 * MIB - 12_900 * KIB);
            first.close();

            // the worker never wrote the heap's 12.9 MiB into the node
            assertThat(fixture.root.usedBytes()).as("node").isZero();
            assertLevels(first, user, fixture.root, 0);

            // the same user's next query gets 50 MiB of the empty pool
            MemoryTracker second = query(user, "q2");
            second.allocate(50 * MIB);
            assertLevels(second, user, fixture.root, 50 * MIB);
            second.free(50 * MIB);
            second.close();
            assertLevels(second, user, fixture.root, 0);
        }
    }

    private void allocateOnTwoDriversAndFreeOnAThird(MemoryTracker query)
            throws Exception
    {
        // exactly 4 MiB is not past max-untracked-memory: each stays in its driver's cell
        driverA.submit(() -> query.allocate(4 * MIB)).get(10, TimeUnit.SECONDS);
        driverB.submit(() -> query.allocate(4 * MIB)).get(10, TimeUnit.SECONDS);
        freer.submit(() -> {
            query.free(4 * MIB);
            // -8 MiB is past -4 MiB: carried now, before the allocations it frees
            query.free(4 * MIB);
        }).get(10, TimeUnit.SECONDS);
    }
}
