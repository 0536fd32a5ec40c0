package io.memgov.testing;

import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The promises of {@link MemoryTracker} as tests. A tracker policy gets the whole suite with one small subclass:
 *
 * <pre>{@code
 * final class MyMemoryTrackerContractTest
 *         extends MemoryTrackerContract
 * {
 *     @Override
 *     protected MemoryTracker newRoot(long hardLimitBytes)
 *     {
 *         return new MyTrackerFactory().create(PolicyConfig.of("memory.tracker.mine.", Map.of("node-limit", hardLimitBytes + "B")), TestingNodeContext.create());
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: a root is a node-level tracker with the given limit; children have the level, description,
 * parent and limit they were given, and a child level not below its parent is refused; allocations and frees reach
 * every level; a refused allocation changes nothing at any level, peaks included; each level's limit applies to what
 * its subtree holds, up to the limit exactly; peaks are the largest amount seen; flushing makes the counters exact and
 * what a tracker holds back is reported until then; close is idempotent and leaves what the tracker holds with its
 * parents; eight threads of random allocations, with frees on other threads, leave every level exact once each thread
 * flushed.
 *
 * <p>Batching trackers may let a thread hold small amounts back, unchecked: say how much with
 * {@link #maxHeldBackBytes()}, and the checks that need a limit to be checked allocate more than that at once.
 *
 * <p>Test methods are public so that a subclass can override one to disable it ({@code @Disabled("why")}) while a
 * known defect is fixed.
 *
 * @since 1.0
 */
public abstract class MemoryTrackerContract
{
    /**
     * A new node-level root whose limit is {@code hardLimitBytes} (0 for none) and which adds no other limit of its own
     * to the levels below it, nor anything that fails queries when a limit is hit (an overcommit killer). Called once
     * or more per test.
     */
    protected abstract MemoryTracker newRoot(long hardLimitBytes);

    /**
     * The most one thread may hold back per tracker without carrying it up or checking a limit; 0 (the default) for
     * trackers that carry every call at once. The suite's limit checks allocate more than this in one call.
     */
    protected long maxHeldBackBytes()
    {
        return 0;
    }

    /** A step large enough that an allocation of it is carried and checked at once. */
    private long unit()
    {
        return maxHeldBackBytes() + 1;
    }

    @Test
    public void aRootIsANodeLevelTrackerWithoutAParent()
    {
        MemoryTracker unlimited = newRoot(0);
        MemoryTracker limited = newRoot(10 * unit());

        assertThat(unlimited.level()).isEqualTo(TrackerLevel.NODE);
        assertThat(unlimited.parent()).isEmpty();
        assertThat(unlimited.description()).isNotNull();
        assertThat(unlimited.hardLimitBytes()).isZero();
        assertThat(limited.hardLimitBytes()).isEqualTo(10 * unit());
        assertThat(unlimited.usedBytes()).isZero();
        assertThat(unlimited.peakBytes()).isZero();
        assertThat(unlimited.untrackedBytes()).isZero();
    }

    @Test
    public void childrenHaveTheLevelDescriptionParentAndLimitTheyWereGiven()
    {
        MemoryTracker root = newRoot(0);

        MemoryTracker user = root.newChild(TrackerLevel.USER, "alice", 0);
        MemoryTracker query = user.newChild(TrackerLevel.QUERY, "q1", 10 * unit());
        MemoryTracker thread = query.newChild(TrackerLevel.THREAD, "worker-1", 0);

        assertThat(user.level()).isEqualTo(TrackerLevel.USER);
        assertThat(user.description()).isEqualTo("alice");
        assertThat(user.parent()).containsSame(root);
        assertThat(user.hardLimitBytes()).isZero();
        assertThat(query.level()).isEqualTo(TrackerLevel.QUERY);
        assertThat(query.description()).isEqualTo("q1");
        assertThat(query.parent()).containsSame(user);
        assertThat(query.hardLimitBytes()).isEqualTo(10 * unit());
        assertThat(thread.level()).isEqualTo(TrackerLevel.THREAD);
        assertThat(thread.parent()).containsSame(query);
        assertThat(thread.usedBytes()).isZero();
        // a level may be skipped: a host without users hangs queries off the node
        assertThat(root.newChild(TrackerLevel.QUERY, "q2", 0).parent()).containsSame(root);
    }

    @Test
    public void aChildLevelMustBeBelowItsParent()
    {
        MemoryTracker root = newRoot(0);
        MemoryTracker query = root.newChild(TrackerLevel.USER, "alice", 0).newChild(TrackerLevel.QUERY, "q1", 0);

        assertThatThrownBy(() -> root.newChild(TrackerLevel.NODE, "node", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> query.newChild(TrackerLevel.QUERY, "q2", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> query.newChild(TrackerLevel.USER, "bob", 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    public void allocationsAndFreesReachEveryLevel()
    {
        Tree tree = new Tree(newRoot(0), 0, 0, 0, 0);
        long unit = unit();

        tree.thread.allocate(5 * unit);
        tree.query.allocate(unit);
        tree.flush();

        assertThat(tree.used()).containsExactly(6 * unit, 6 * unit, 6 * unit, 5 * unit);

        tree.thread.free(2 * unit);
        tree.flush();

        assertThat(tree.used()).containsExactly(4 * unit, 4 * unit, 4 * unit, 3 * unit);
    }

    @Test
    public void flushingMakesTheCountersExactAndHeldBackBytesAreReportedUntilThen()
    {
        // many small calls: a batching tracker holds them back; whatever it holds back it must report
        Tree tree = new Tree(newRoot(0), 0, 0, 0, 0);
        for (int i = 0; i < 1000; i++) {
            tree.query.allocate(3);
        }
        for (int i = 0; i < 100; i++) {
            tree.query.free(2);
        }

        for (MemoryTracker level : List.of(tree.query, tree.user, tree.root)) {
            assertThat(level.usedBytes() + level.untrackedBytes()).as("used plus held back at %s", level.level()).isEqualTo(2800);
        }
        tree.query.flush();

        assertThat(tree.used()).containsExactly(2800L, 2800L, 2800L, 0L);
        assertThat(tree.root.untrackedBytes()).isZero();
        assertThat(tree.query.untrackedBytes()).isZero();
    }

    @ParameterizedTest
    @EnumSource(TrackerLevel.class)
    public void aRefusedAllocationChangesNothingAtAnyLevel(TrackerLevel limited)
    {
        // ClickHouse's rollback: the levels below the one that refused must give the bytes back too
        Tree tree = sixHeldThenFiveRefused(limited);

        assertThat(tree.used()).containsExactly(6 * unit(), 6 * unit(), 6 * unit(), 6 * unit());
    }

    @ParameterizedTest
    @EnumSource(TrackerLevel.class)
    public void aRefusedAllocationLeavesThePeaksAsTheyWere(TrackerLevel limited)
    {
        // the peak is what a level really held: bytes that were refused were never held anywhere
        Tree tree = sixHeldThenFiveRefused(limited);

        assertThat(tree.peaks()).containsExactly(6 * unit(), 6 * unit(), 6 * unit(), 6 * unit());
    }

    /** A tree whose {@code limited} level allows 10 units, 6 held by the thread, then 5 more refused; flushed. */
    private Tree sixHeldThenFiveRefused(TrackerLevel limited)
    {
        long unit = unit();
        Tree tree = Tree.limitedAt(this, limited, 10 * unit);
        tree.thread.allocate(6 * unit);
        tree.flush();

        assertThatThrownBy(() -> tree.thread.allocate(5 * unit)).isInstanceOf(MemoryLimitExceededException.class);
        tree.flush();
        return tree;
    }

    @ParameterizedTest
    @EnumSource(TrackerLevel.class)
    public void aLevelMayBeFilledUpToItsLimitExactly(TrackerLevel limited)
    {
        long unit = unit();
        Tree tree = Tree.limitedAt(this, limited, 10 * unit);

        tree.thread.allocate(10 * unit);
        assertThatThrownBy(() -> tree.thread.allocate(unit)).isInstanceOf(MemoryLimitExceededException.class);
        tree.flush();

        assertThat(tree.used()).containsExactly(10 * unit, 10 * unit, 10 * unit, 10 * unit);
    }

    @Test
    public void aLimitAppliesToWhatTheWholeSubtreeHolds()
    {
        long unit = unit();
        MemoryTracker root = newRoot(0);
        MemoryTracker alice = root.newChild(TrackerLevel.USER, "alice", 10 * unit);
        MemoryTracker bob = root.newChild(TrackerLevel.USER, "bob", 0);
        MemoryTracker q1 = alice.newChild(TrackerLevel.QUERY, "q1", 0);
        MemoryTracker q2 = alice.newChild(TrackerLevel.QUERY, "q2", 0);
        MemoryTracker q3 = bob.newChild(TrackerLevel.QUERY, "q3", 0);

        q1.allocate(6 * unit);
        assertThatThrownBy(() -> q2.allocate(5 * unit)).isInstanceOf(MemoryLimitExceededException.class);
        q2.allocate(4 * unit);
        // another user's queries are not held to alice's limit
        q3.allocate(20 * unit);
        for (MemoryTracker tracker : List.of(q1, q2, q3)) {
            tracker.flush();
        }

        assertThat(q2.usedBytes()).isEqualTo(4 * unit);
        assertThat(alice.usedBytes()).isEqualTo(10 * unit);
        assertThat(bob.usedBytes()).isEqualTo(20 * unit);
        assertThat(root.usedBytes()).isEqualTo(30 * unit);
    }

    @Test
    public void peaksAreTheLargestAmountEachLevelHeld()
    {
        long unit = unit();
        MemoryTracker root = newRoot(0);
        MemoryTracker user = root.newChild(TrackerLevel.USER, "alice", 0);
        MemoryTracker q1 = user.newChild(TrackerLevel.QUERY, "q1", 0);
        MemoryTracker q2 = user.newChild(TrackerLevel.QUERY, "q2", 0);

        q1.allocate(6 * unit);
        q1.flush();
        q1.free(4 * unit);
        q1.flush();
        q1.allocate(unit);
        q1.flush();
        q2.allocate(5 * unit);
        q2.flush();

        assertThat(q1.usedBytes()).isEqualTo(3 * unit);
        assertThat(q1.peakBytes()).isEqualTo(6 * unit);
        assertThat(q2.peakBytes()).isEqualTo(5 * unit);
        assertThat(user.usedBytes()).isEqualTo(8 * unit);
        assertThat(user.peakBytes()).isEqualTo(8 * unit);
        assertThat(root.peakBytes()).isEqualTo(8 * unit);
    }

    @Test
    public void negativeAmountsAreRefusedAndChangeNothing()
    {
        Tree tree = new Tree(newRoot(0), 0, 0, 0, 0);
        tree.thread.allocate(5 * unit());
        tree.flush();

        assertThatThrownBy(() -> tree.thread.allocate(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> tree.thread.free(-1)).isInstanceOf(IllegalArgumentException.class);
        tree.flush();

        assertThat(tree.used()).containsExactly(5 * unit(), 5 * unit(), 5 * unit(), 5 * unit());
    }

    @Test
    public void zeroBytesChangeNothing()
    {
        Tree tree = new Tree(newRoot(0), 0, 0, 0, 0);

        tree.thread.allocate(0);
        tree.thread.free(0);
        tree.flush();

        assertThat(tree.used()).containsExactly(0L, 0L, 0L, 0L);
        assertThat(tree.peaks()).containsExactly(0L, 0L, 0L, 0L);
    }

    @Test
    public void freeingMoreThanIsHeldNeverFails()
    {
        // memory freed outside the context that allocated it: the tracker may saturate, but must not throw
        Tree tree = new Tree(newRoot(0), 0, 0, 0, 0);
        tree.query.allocate(unit());

        assertThatCode(() -> {
            tree.query.free(3 * unit());
            tree.thread.free(2 * unit());
            tree.flush();
        }).doesNotThrowAnyException();
    }

    @Test
    public void closeIsIdempotentAndLeavesWhatTheTrackerHoldsWithItsParents()
    {
        long unit = unit();
        Tree tree = new Tree(newRoot(0), 0, 0, 0, 0);
        // some of it held back by a batching tracker: close must carry it
        tree.query.allocate(3);
        tree.query.allocate(2 * unit);

        tree.query.close();
        tree.query.close();

        assertThat(tree.user.usedBytes()).isEqualTo(2 * unit + 3);
        assertThat(tree.root.usedBytes()).isEqualTo(2 * unit + 3);
        assertThat(tree.root.untrackedBytes()).isZero();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    public void concurrentCallsAreExactOnceEveryThreadFlushed()
            throws InterruptedException
    {
        // eight threads allocate on shared queries of two users, one user with a limit that refuses some calls, and hand
        // a share of their bytes to other threads to free (memory allocated by one operator thread, freed by another)
        int threads = 8;
        long unit = unit();
        MemoryTracker root = newRoot(0);
        MemoryTracker alice = root.newChild(TrackerLevel.USER, "alice", 40 * unit);
        MemoryTracker bob = root.newChild(TrackerLevel.USER, "bob", 0);
        List<MemoryTracker> queries = List.of(
                alice.newChild(TrackerLevel.QUERY, "q0", 0),
                alice.newChild(TrackerLevel.QUERY, "q1", 0),
                bob.newChild(TrackerLevel.QUERY, "q2", 0),
                bob.newChild(TrackerLevel.QUERY, "q3", 0));
        Map<MemoryTracker, AtomicLong> held = queries.stream().collect(Collectors.toMap(Function.identity(), ignored -> new AtomicLong()));
        Queue<Handoff> handoffs = new ConcurrentLinkedQueue<>();
        AtomicLong refusals = new AtomicLong();

        Workers.run("tracker-random", threads, (worker, deadline) -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            List<Handoff> mine = new ArrayList<>();
            while (System.nanoTime() < deadline) {
                int call = random.nextInt(10);
                if (call < 5 || mine.isEmpty()) {
                    MemoryTracker query = queries.get(random.nextInt(queries.size()));
                    // small calls (held back by batching trackers) and large ones (carried and checked at once)
                    long bytes = random.nextBoolean() ? random.nextLong(1, 64) : random.nextLong(unit, 3 * unit);
                    try {
                        query.allocate(bytes);
                    }
                    catch (MemoryLimitExceededException e) {
                        refusals.incrementAndGet();
                        continue;
                    }
                    held.get(query).addAndGet(bytes);
                    Handoff allocated = new Handoff(query, bytes);
                    if (random.nextInt(3) == 0) {
                        handoffs.add(allocated);
                    }
                    else {
                        mine.add(allocated);
                    }
                }
                else {
                    Handoff toFree = call < 8 ? mine.remove(mine.size() - 1) : handoffs.poll();
                    if (toFree != null) {
                        toFree.query.free(toFree.bytes);
                        held.get(toFree.query).addAndGet(-toFree.bytes);
                    }
                }
            }
            // what this thread holds back for each tracker it used; the bytes it still holds stay allocated
            queries.forEach(MemoryTracker::flush);
        });

        Map<MemoryTracker, Long> expected = held.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, entry -> entry.getValue().get()));
        for (MemoryTracker query : queries) {
            assertThat(query.usedBytes()).as("query %s", query.description()).isEqualTo(expected.get(query));
        }
        assertThat(alice.usedBytes()).isEqualTo(expected.get(queries.get(0)) + expected.get(queries.get(1)));
        assertThat(bob.usedBytes()).isEqualTo(expected.get(queries.get(2)) + expected.get(queries.get(3)));
        assertThat(root.usedBytes()).isEqualTo(expected.values().stream().mapToLong(Long::longValue).sum());
        assertThat(root.untrackedBytes()).isZero();

        queries.forEach(query -> {
            query.free(expected.get(query));
            query.flush();
        });
        assertThat(root.usedBytes()).isZero();
    }

    private record Handoff(MemoryTracker query, long bytes) {}

    /** Node, user, query and thread, each with its own limit (0 for none). */
    private static final class Tree
    {
        final MemoryTracker root;
        final MemoryTracker user;
        final MemoryTracker query;
        final MemoryTracker thread;

        Tree(MemoryTracker root, long rootLimit, long userLimit, long queryLimit, long threadLimit)
        {
            assertThat(root.hardLimitBytes()).isEqualTo(rootLimit);
            this.root = root;
            this.user = root.newChild(TrackerLevel.USER, "alice", userLimit);
            this.query = user.newChild(TrackerLevel.QUERY, "q1", queryLimit);
            this.thread = query.newChild(TrackerLevel.THREAD, "worker-1", threadLimit);
        }

        static Tree limitedAt(MemoryTrackerContract contract, TrackerLevel level, long limit)
        {
            return new Tree(
                    contract.newRoot(level == TrackerLevel.NODE ? limit : 0),
                    level == TrackerLevel.NODE ? limit : 0,
                    level == TrackerLevel.USER ? limit : 0,
                    level == TrackerLevel.QUERY ? limit : 0,
                    level == TrackerLevel.THREAD ? limit : 0);
        }

        /** Flushes what the calling thread holds back at every level. */
        void flush()
        {
            thread.flush();
            query.flush();
            user.flush();
            root.flush();
        }

        /** Node, user, query, thread. */
        long[] used()
        {
            return new long[] {root.usedBytes(), user.usedBytes(), query.usedBytes(), thread.usedBytes()};
        }

        long[] peaks()
        {
            return new long[] {root.peakBytes(), user.peakBytes(), query.peakBytes(), thread.peakBytes()};
        }
    }
}
