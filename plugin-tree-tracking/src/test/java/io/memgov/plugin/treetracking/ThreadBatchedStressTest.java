package io.memgov.plugin.treetracking;

import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import static io.memgov.plugin.treetracking.TrackerFixture.KIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #17's stress for {@code thread-batched}: {@value #THREADS} threads allocate and free at random on a few
 * queries of a few users, each free usually on another thread than its allocation; queries are closed at random and
 * replaced, a user's tracker is closed with the user's last query (as the engine does), and the correction worker
 * ticks every millisecond. Every query closed must read exactly zero at once, every user when its last query goes;
 * at the end, once every thread has flushed, every level must equal the exact sum of what is still allocated, and
 * zero once that is freed.
 *
 * <p>Runs {@value #DEFAULT_SECONDS} s per case in the suite. A longer run:
 * <pre>{@code
 * mvn -B -pl plugin-tree-tracking -am verify -Dtest=ThreadBatchedStressTest -Dsurefire.failIfNoSpecifiedTests=false -Dmemgov.stress.seconds=60
 * }</pre>
 */
final class ThreadBatchedStressTest
{
    static final String SECONDS_PROPERTY = "memgov.stress.seconds";
    private static final long DEFAULT_SECONDS = 2;
    private static final int THREADS = 8;
    private static final int QUERY_SLOTS = 6;
    private static final int USERS = 3;
    private static final long MAX_CHUNK = 384 * KIB;

    @ParameterizedTest(name = "correct-tracker={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void everyLevelIsExactAfterFlushWhateverThreadFreesWhat(boolean correctTracker)
            throws Exception
    {
        long runNanos = TimeUnit.SECONDS.toNanos(Long.getLong(SECONDS_PROPERTY, DEFAULT_SECONDS));
        AtomicLong correctionReads = new AtomicLong();
        Map<String, String> config = new HashMap<>();
        // smaller than many chunks, so that both the batched and the unbatched paths run
        config.put("max-untracked-memory", "256kB");
        config.put("max-memory-usage", "24MB");
        config.put("max-memory-usage-for-user", "64MB");
        config.put("memory-usage-overcommit-max-wait", "1ms");
        config.put("correction-interval", "1ms");
        config.put("correct-tracker", Boolean.toString(correctTracker));
        try (TrackerFixture fixture = TrackerFixture.tree(config, () -> {
            correctionReads.incrementAndGet();
            // a heap that wanders, as the real one does
            return ThreadLocalRandom.current().nextLong(64 * MIB);
        }, 256 * MIB)) {
            Node node = new Node(fixture.root);
            for (int slot = 0; slot < QUERY_SLOTS; slot++) {
                node.slots.set(slot, node.open(slot));
            }
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService executor = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> workers = new ArrayList<>();
                for (int i = 0; i < THREADS; i++) {
                    long seed = 7919L * i + (correctTracker ? 1 : 0);
                    workers.add(executor.submit(() -> {
                        start.await();
                        node.work(new SplittableRandom(seed), stop);
                        return null;
                    }));
                }
                start.countDown();
                long deadline = System.nanoTime() + runNanos;
                // the workers carry on until the deadline; wake up once a second only to fail fast if one died
                for (Future<?> worker : workers) {
                    long remaining = deadline - System.nanoTime();
                    if (remaining > 0) {
                        try {
                            worker.get(remaining, TimeUnit.NANOSECONDS);
                        }
                        catch (TimeoutException expected) {
                            // still running, as it should
                        }
                    }
                }
                stop.set(true);
                for (Future<?> worker : workers) {
                    worker.get(60, TimeUnit.SECONDS);
                }
            }
            finally {
                executor.shutdownNow();
            }

            // the run did what it is for
            assertThat(node.closedQueries.sum()).as("queries closed").isGreaterThan(10);
            assertThat(node.closedUsers.sum()).as("user trackers closed").isPositive();
            assertThat(node.negativeQueryLevels.sum()).as("frees carried before their allocations").isPositive();
            assertThat(node.refused.sum()).as("allocations refused by a limit").isPositive();
            assertThat(correctionReads.get()).as("correction ticks").isGreaterThan(10);

            // every worker flushed its cells before it ended: every level holds the exact sum
            long total = 0;
            Map<MemoryTracker, Long> byUser = new HashMap<>();
            for (int slot = 0; slot < QUERY_SLOTS; slot++) {
                Query query = node.slots.get(slot);
                long held = query.heldBytes();
                assertThat(query.tracker.trackedBytes()).as("query %s", query.tracker.description()).isEqualTo(held);
                assertThat(query.tracker.untrackedBytes()).isZero();
                byUser.merge(query.user, held, Long::sum);
                total += held;
            }
            for (Map.Entry<MemoryTracker, Long> user : byUser.entrySet()) {
                assertThat(((ThreadBatchedMemoryTracker) user.getKey()).trackedBytes()).as("user %s", user.getKey().description()).isEqualTo(user.getValue());
            }
            assertThat(fixture.root.trackedBytes()).as("node").isEqualTo(total);
            assertThat(fixture.root.untrackedBytes()).isZero();

            for (int slot = 0; slot < QUERY_SLOTS; slot++) {
                node.close(node.slots.get(slot));
            }
            assertThat(node.users).isEmpty();
            assertThat(fixture.root.trackedBytes()).as("node").isZero();
            if (correctTracker) {
                // the only difference between what the node reads and its exact sum is the correction term
                assertThat(fixture.root.usedBytes()).isEqualTo(fixture.root.correctionBytes());
            }
            else {
                assertThat(fixture.root.usedBytes()).isZero();
            }
        }
    }

    /** The host side: query slots, users' trackers kept while they have queries, as the engine keeps them. */
    private static final class Node
    {
        final ThreadBatchedMemoryTracker root;
        final AtomicReferenceArray<Query> slots = new AtomicReferenceArray<>(QUERY_SLOTS);
        // guarded by itself
        final Map<String, UserTracker> users = new HashMap<>();
        final AtomicLong queryIds = new AtomicLong();
        final LongAdder closedQueries = new LongAdder();
        final LongAdder closedUsers = new LongAdder();
        final LongAdder negativeQueryLevels = new LongAdder();
        final LongAdder refused = new LongAdder();

        Node(ThreadBatchedMemoryTracker root)
        {
            this.root = root;
        }

        Query open(int slot)
        {
            String user = "user-" + Math.floorMod(slot + queryIds.get(), USERS);
            MemoryTracker userTracker;
            synchronized (users) {
                UserTracker held = users.computeIfAbsent(user, name -> new UserTracker(root.newChild(TrackerLevel.USER, name, 0)));
                held.queries++;
                userTracker = held.tracker;
            }
            String id = "q" + queryIds.incrementAndGet();
            return new Query((ThreadBatchedMemoryTracker) userTracker.newChild(TrackerLevel.QUERY, id, 0), userTracker);
        }

        /** As the engine's query close: release what the query holds, close its tracker, then the user's if it was the last. */
        void close(Query query)
        {
            query.lock.writeLock().lock();
            try {
                if (query.closed) {
                    return;
                }
                query.closed = true;
                for (Long chunk = query.chunks.poll(); chunk != null; chunk = query.chunks.poll()) {
                    query.tracker.free(chunk);
                }
                query.tracker.close();
            }
            finally {
                query.lock.writeLock().unlock();
            }
            // every call on it has returned and close drained every thread's cell
            assertThat(query.tracker.trackedBytes()).as("closed query %s", query.tracker.description()).isZero();
            closedQueries.increment();
            synchronized (users) {
                UserTracker held = users.get(query.user.description());
                if (--held.queries == 0) {
                    users.remove(query.user.description());
                    held.tracker.close();
                    assertThat(((ThreadBatchedMemoryTracker) held.tracker).trackedBytes()).as("user %s after its last query", held.tracker.description()).isZero();
                    closedUsers.increment();
                }
            }
        }

        void work(SplittableRandom random, AtomicBoolean stop)
        {
            while (!stop.get()) {
                int slot = random.nextInt(QUERY_SLOTS);
                Query query = slots.get(slot);
                int dice = random.nextInt(1000);
                if (dice < 2) {
                    // replace before closing, so that the slot never holds a closed query for long
                    Query next = open(slot);
                    close(slots.compareAndSet(slot, query, next) ? query : next);
                    continue;
                }
                query.lock.readLock().lock();
                try {
                    if (query.closed) {
                        continue;
                    }
                    if (dice < 500) {
                        allocate(query, random, dice < 10);
                    }
                    else if (dice < 990) {
                        // usually a chunk another thread allocated, and maybe still holds in its cell
                        Long chunk = query.chunks.poll();
                        if (chunk != null) {
                            query.tracker.free(chunk);
                            if (query.tracker.trackedBytes() < 0) {
                                negativeQueryLevels.increment();
                            }
                        }
                    }
                    else {
                        query.tracker.flush();
                    }
                }
                finally {
                    query.lock.readLock().unlock();
                }
            }
            // every thread flushes what it holds for the queries still open
            for (int slot = 0; slot < QUERY_SLOTS; slot++) {
                Query query = slots.get(slot);
                query.lock.readLock().lock();
                try {
                    if (!query.closed) {
                        query.tracker.flush();
                    }
                }
                finally {
                    query.lock.readLock().unlock();
                }
            }
        }

        private void allocate(Query query, SplittableRandom random, boolean noThrow)
        {
            long bytes = 1 + random.nextLong(MAX_CHUNK);
            try {
                if (noThrow) {
                    NoThrowScope.allocateNoThrow(query.tracker, bytes);
                }
                else {
                    query.tracker.allocate(bytes);
                }
                query.chunks.add(bytes);
            }
            catch (MemoryLimitExceededException e) {
                refused.increment();
                // give some back, as an operator that spills would
                for (int i = 0; i < 8; i++) {
                    Long chunk = query.chunks.poll();
                    if (chunk == null) {
                        break;
                    }
                    query.tracker.free(chunk);
                }
            }
        }
    }

    private static final class UserTracker
    {
        final MemoryTracker tracker;
        int queries;

        UserTracker(MemoryTracker tracker)
        {
            this.tracker = tracker;
        }
    }

    /** One query: its tracker and the chunks it holds, whichever thread allocated them. */
    private static final class Query
    {
        final ThreadBatchedMemoryTracker tracker;
        final MemoryTracker user;
        final ConcurrentLinkedQueue<Long> chunks = new ConcurrentLinkedQueue<>();
        // calls take it shared, close exclusively: the host stops using a tracker before closing it
        final ReadWriteLock lock = new ReentrantReadWriteLock();
        // guarded by lock
        boolean closed;

        Query(ThreadBatchedMemoryTracker tracker, MemoryTracker user)
        {
            this.tracker = tracker;
            this.user = user;
        }

        long heldBytes()
        {
            return chunks.stream().mapToLong(Long::longValue).sum();
        }
    }
}
