package io.memgov.plugin.treetracking;

import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import static io.memgov.plugin.treetracking.TrackerFixture.GIB;
import static io.memgov.plugin.treetracking.TrackerFixture.KIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static io.memgov.plugin.treetracking.TrackerFixture.query;
import static io.memgov.plugin.treetracking.TrackerFixture.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;



/** The tree's shape, limits per level, close and the correction worker's schedule. */
final class TrackerTreeTest
{
    @Test
    void rootIsTheNodeWithTheAutomaticLimitOfNinetyPercentOfThePool()
    {
        try (TrackerFixture fixture = tree(Map.of())) {
            assertThat(fixture.root.level()).isEqualTo(TrackerLevel.NODE);
            assertThat(fixture.root.description()).isEqualTo("node-1");
            assertThat(fixture.root.parent()).isEmpty();
            assertThat(fixture.root.hardLimitBytes()).isEqualTo((long) (0.9 * GIB));
        }
    }

    @Test
    void configuredNodeLimitIsCappedByTheRatio()
    {
        try (TrackerFixture small = tree(Map.of("max-server-memory-usage", "100MB"));
                TrackerFixture large = tree(Map.of("max-server-memory-usage", "2GB"));
                TrackerFixture noRatio = tree(Map.of("max-server-memory-usage-to-ram-ratio", "0"))) {
            assertThat(small.root.hardLimitBytes()).isEqualTo(100 * MIB);
            assertThat(large.root.hardLimitBytes()).isEqualTo((long) (0.9 * GIB));
            assertThat(noRatio.root.hardLimitBytes()).isZero();
        }
    }

    @Test
    void queryAndUserLimitsTakeTheLowerOfConfigAndEngine()
    {
        try (TrackerFixture fixture = tree(Map.of("max-memory-usage", "10MB", "max-memory-usage-for-user", "20MB"))) {
            MemoryTracker user = fixture.user("alice");
            assertThat(user.hardLimitBytes()).isEqualTo(20 * MIB);
            assertThat(fixture.root.newChild(TrackerLevel.USER, "bob", 5 * MIB).hardLimitBytes()).isEqualTo(5 * MIB);
            assertThat(query(user, "q1", 0).hardLimitBytes()).isEqualTo(10 * MIB);
            assertThat(query(user, "q2", 4 * MIB).hardLimitBytes()).isEqualTo(4 * MIB);
            assertThat(query(user, "q3", 40 * MIB).hardLimitBytes()).isEqualTo(10 * MIB);
            MemoryTracker thread = query(user, "q4").newChild(TrackerLevel.THREAD, "worker-1", 0);
            assertThat(thread.hardLimitBytes()).isZero();
            assertThat(thread.parent()).isPresent();
            assertThat(thread.parent().orElseThrow().description()).isEqualTo("q4");
        }
    }

    @Test
    void childMustBeBelowItsParent()
    {
        try (TrackerFixture fixture = tree(Map.of())) {
            MemoryTracker user = fixture.user("alice");
            assertThatThrownBy(() -> user.newChild(TrackerLevel.USER, "nested", 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("USER is not below USER");
            assertThatThrownBy(() -> fixture.root.newChild(TrackerLevel.NODE, "other", 0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> user.newChild(TrackerLevel.QUERY, "q1", -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> user.newChild(TrackerLevel.QUERY, null, 0))
                    .isInstanceOf(NullPointerException.class)
                    .hasMessage("description is null");
            assertThatThrownBy(() -> user.allocate(-1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> user.free(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closeDrainsWhatOtherThreadsHoldBack()
            throws Exception
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "4MB"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");
            ExecutorService executor = Executors.newFixedThreadPool(4);
            try {
                for (int i = 0; i < 4; i++) {
                    executor.submit(() -> query.allocate(MIB)).get();
                }
                query.allocate(512 * KIB);
                assertThat(fixture.root.usedBytes()).isZero();
                assertThat(fixture.root.untrackedBytes()).isEqualTo(4 * MIB + 512 * KIB);

                query.close();

                assertThat(query.usedBytes()).isEqualTo(4 * MIB + 512 * KIB);
                assertThat(user.usedBytes()).isEqualTo(4 * MIB + 512 * KIB);
                assertThat(fixture.root.usedBytes()).isEqualTo(4 * MIB + 512 * KIB);
                assertThat(fixture.root.untrackedBytes()).isZero();

                // late frees after close are carried at once, from any thread
                executor.submit(() -> query.free(MIB)).get();
                query.free(512 * KIB);
                assertThat(fixture.root.usedBytes()).isEqualTo(3 * MIB);
                query.close();
                assertThat(fixture.root.usedBytes()).isEqualTo(3 * MIB);
            }
            finally {
                executor.shutdownNow();
            }
        }
    }

    @Test
    void flushCarriesOnlyTheCallingThreadsBalance()
            throws Exception
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "4MB"))) {
            MemoryTracker query = query(fixture.user("alice"), "q1");
            CountDownLatch allocated = new CountDownLatch(1);
            CountDownLatch flushed = new CountDownLatch(1);
            Thread other = new Thread(() -> {
                query.allocate(2 * MIB);
                allocated.countDown();
                try {
                    flushed.await();
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                query.flush();
            });
            other.start();
            allocated.await();
            query.allocate(MIB);
            query.flush();
            assertThat(query.usedBytes()).isEqualTo(MIB);
            assertThat(query.untrackedBytes()).isEqualTo(2 * MIB);
            flushed.countDown();
            other.join();
            assertThat(query.usedBytes()).isEqualTo(3 * MIB);
            assertThat(query.untrackedBytes()).isZero();
        }
    }

    @Test
    void balanceOfADeadThreadIsCarriedWhenAnotherThreadJoins()
            throws Exception
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "4MB"))) {
            MemoryTracker query = query(fixture.user("alice"), "q1");
            Thread first = new Thread(() -> query.allocate(MIB));
            first.start();
            first.join();
            Thread second = new Thread(() -> query.allocate(KIB));
            second.start();
            second.join();
            // the dead thread's megabyte reached the query when the second thread registered
            assertThat(query.usedBytes()).isEqualTo(MIB);
            assertThat(query.untrackedBytes()).isEqualTo(KIB);
        }
    }

    @Test
    void correctionRunsOnTheSchedulerAndStopsWhenTheRootCloses()
            throws Exception
    {
        AtomicLong actual = new AtomicLong(7 * MIB);
        TrackerFixture fixture = tree(Map.of("correction-interval", "10ms"), actual::get);
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.ACTUAL_GAUGE).isPresent());
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.ACTUAL_GAUGE)).hasValue(7 * MIB);
            assertThat(fixture.context.testingMetrics().gauge(MemoryCorrectionWorker.DRIFT_GAUGE)).hasValue(-7 * MIB);
            assertThat(fixture.treeState().correctionTask().isCancelled()).isFalse();

            fixture.root.close();

            assertThat(fixture.treeState().correctionTask().isCancelled()).isTrue();
        }
        finally {
            fixture.close();
        }
    }

    @Test
    void correctionIsOffWhenTheIntervalIsZero()
    {
        try (TrackerFixture fixture = tree(Map.of("correction-interval", "0"))) {
            assertThat(fixture.treeState().correctionWorker()).isNull();
        }
    }

    @Test
    void failingSourceDoesNotStopTheWorker()
    {
        AtomicLong calls = new AtomicLong();
        try (TrackerFixture fixture = tree(Map.of("correction-interval", "1h"), () -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("source unavailable");
            }
            return MIB;
        })) {
            MemoryCorrectionWorker worker = fixture.treeState().correctionWorker();
            worker.run();
            worker.run();
            assertThat(worker.lastDriftBytes()).isEqualTo(-MIB);
        }
    }

    @Test
    @Timeout(30)
    void workerScheduledOnTheSchedulerKeepsRunningAfterAnErrorAndLogsIt()
            throws Exception
    {
        // issue #17, defect 1: an Error out of a scheduleWithFixedDelay task cancels it silently
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch ranAfterTheError = new CountDownLatch(3);
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler handler = new Handler()
        {
            @Override
            public void publish(LogRecord record)
            {
                records.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger(MemoryCorrectionWorker.class.getName());
        logger.addHandler(handler);
        try (TrackerFixture fixture = tree(Map.of("correction-interval", "5ms"), () -> {
            if (calls.incrementAndGet() == 1) {
                // what a plugin linked against a class its loader cannot see throws
                throw new NoClassDefFoundError("io/example/Missing");
            }
            ranAfterTheError.countDown();
            return MIB;
        })) {
            assertThat(ranAfterTheError.await(20, TimeUnit.SECONDS)).as("ticks after the error").isTrue();
            assertThat(fixture.treeState().correctionTask().isCancelled()).isFalse();
            assertThat(records).anySatisfy(record -> {
                assertThat(record.getLevel()).isEqualTo(java.util.logging.Level.WARNING);
                assertThat(record.getThrown()).isInstanceOf(NoClassDefFoundError.class);
            });
        }
        finally {
            logger.removeHandler(handler);
        }
    }
}
