package io.memgov.plugin.treetracking;

import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static io.memgov.plugin.treetracking.TrackerFixture.KIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static io.memgov.plugin.treetracking.TrackerFixture.query;
import static io.memgov.plugin.treetracking.TrackerFixture.tree;
import static org.assertj.core.api.Assertions.assertThat;

/** Many threads allocating and freeing under batching: bounded overrun while running, exact totals at the end. */
final class ConcurrentBatchingTest
{
    private static final int QUERIES = 3;
    private static final int THREADS_PER_QUERY = 3;
    private static final long MAX_UNTRACKED = 256 * KIB;
    private static final long QUERY_LIMIT = 16 * MIB;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(1200);

    @Test
    void totalsAreExactAfterFlushAndLimitsAreNeverPassedByMoreThanThreadsTimesMaxUntracked()
            throws Exception
    {
        try (TrackerFixture fixture = tree(Map.of("max-untracked-memory", "256kB", "overcommit-killer", "none"))) {
            MemoryTracker alice = fixture.user("alice");
            MemoryTracker bob = fixture.user("bob");
            List<MemoryTracker> queries = List.of(
                    query(alice, "q1", QUERY_LIMIT),
                    query(alice, "q2", QUERY_LIMIT),
                    query(bob, "q3", QUERY_LIMIT));
            // what the threads of each query really hold: raised after an allocate returns, lowered before a free
            List<AtomicLong> held = List.of(new AtomicLong(), new AtomicLong(), new AtomicLong());
            List<AtomicLong> maxHeld = List.of(new AtomicLong(), new AtomicLong(), new AtomicLong());
            AtomicLong failures = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService executor = Executors.newFixedThreadPool(QUERIES * THREADS_PER_QUERY + 1);
            try {
                List<Future<?>> workers = new ArrayList<>();
                for (int q = 0; q < QUERIES; q++) {
                    for (int t = 0; t < THREADS_PER_QUERY; t++) {
                        int queryIndex = q;
                        long seed = q * 31L + t;
                        workers.add(executor.submit(() -> {
                            start.await();
                            work(queries.get(queryIndex), held.get(queryIndex), failures, seed);
                            return null;
                        }));
                    }
                }
                Future<?> monitor = executor.submit(() -> {
                    start.await();
                    while (!stop.get()) {
                        for (int q = 0; q < QUERIES; q++) {
                            maxHeld.get(q).accumulateAndGet(held.get(q).get(), Math::max);
                        }
                        // sample, do not spin: the workers need the cores
                        LockSupport.parkNanos(20_000);
                    }
                    return null;
                });
                start.countDown();
                for (Future<?> worker : workers) {
                    worker.get(30, TimeUnit.SECONDS);
                }
                stop.set(true);
                monitor.get(5, TimeUnit.SECONDS);
            }
            finally {
                executor.shutdownNow();
            }

            // the workload did push against the limits
            assertThat(failures.get()).isPositive();
            long total = 0;
            for (int q = 0; q < QUERIES; q++) {
                assertThat(maxHeld.get(q).get()).as("most held by q%s", q + 1)
                        .isGreaterThan(QUERY_LIMIT / 2)
                        .isLessThanOrEqualTo(QUERY_LIMIT + THREADS_PER_QUERY * MAX_UNTRACKED);
                assertThat(queries.get(q).usedBytes()).as("q%s", q + 1).isEqualTo(held.get(q).get());
                assertThat(queries.get(q).untrackedBytes()).isZero();
                total += held.get(q).get();
            }
            assertThat(alice.usedBytes()).isEqualTo(held.get(0).get() + held.get(1).get());
            assertThat(bob.usedBytes()).isEqualTo(held.get(2).get());
            assertThat(fixture.root.usedBytes()).isEqualTo(total);
            assertThat(fixture.root.untrackedBytes()).isZero();
            for (MemoryTracker query : queries) {
                // checked carries stay under the limit; the final flushes carry already-granted bytes unchecked
                assertThat(query.peakBytes()).isLessThanOrEqualTo(QUERY_LIMIT + THREADS_PER_QUERY * MAX_UNTRACKED);
            }
        }
    }

    /** Random walk: mostly grows until the limit pushes back, then frees; flushes the thread's balance at the end. */
    private static void work(MemoryTracker query, AtomicLong held, AtomicLong failures, long seed)
    {
        SplittableRandom random = new SplittableRandom(seed);
        ArrayDeque<Long> chunks = new ArrayDeque<>();
        long deadline = System.nanoTime() + RUN_NANOS;
        while (System.nanoTime() < deadline) {
            if (chunks.isEmpty() || random.nextInt(100) < 60) {
                long bytes = 1 + random.nextLong(64 * KIB);
                try {
                    query.allocate(bytes);
                    held.addAndGet(bytes);
                    chunks.push(bytes);
                }
                catch (MemoryLimitExceededException e) {
                    failures.incrementAndGet();
                    // give some back, as an operator that spills would
                    for (int i = 0; i < 8 && !chunks.isEmpty(); i++) {
                        long freed = chunks.removeLast();
                        held.addAndGet(-freed);
                        query.free(freed);
                    }
                }
            }
            else {
                long freed = chunks.pop();
                held.addAndGet(-freed);
                query.free(freed);
            }
        }
        query.flush();
    }
}
