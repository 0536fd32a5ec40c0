package io.memgov.engine.internal.heap;

import io.memgov.engine.HeapMemorySnapshot;
import io.memgov.engine.HeapSettings;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import static io.memgov.engine.internal.heap.SyntheticCollections.MB;
import static io.memgov.engine.internal.heap.SyntheticCollections.full;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;



/**
 * The heap governor over synthetic collections: capacity follows the untracked heap (and comes back), a shrink makes the
 * node revoke, and GC pressure revokes first and then fails the largest query, one victim at a time.
 */
final class HeapGovernorTest
{
    private static final long HEAP = 100 * MB;
    private static final NodeId NODE = NodeId.of("node-0");

    private final ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
    private final FakeHeap heap = new FakeHeap(HEAP);
    // heap 100MB, headroom 30MB: a 70MB pool
    private final NodeMemoryManager node = new NodeMemoryManager(NODE, new FixedMemoryPool("general", 70 * MB), ExactMemoryTracker.root("node-0", 0),
            Clock.systemUTC(), Long.MAX_VALUE, Long.MAX_VALUE);
    private final List<String> failed = new CopyOnWriteArrayList<>();
    private final List<OperatorMemoryContext> held = new ArrayList<>();
    private long clockMillis = 1_000;

    @AfterEach
    void shutDown()
    {
        executor.shutdownNow();
    }

    @Test
    void theEffectiveMaximumFollowsTheUntrackedHeapAndComesBack()
    {
        HeapGovernor governor = governor(true, Map.of());
        MemoryPool pool = node.pool();
        reserve("q1", 20 * MB, false);

        // 60MB live, 20MB tracked: 40MB nobody tracked leaves the pool 30MB
        collect(60);
        assertThat(pool.maxBytes()).isEqualTo(30 * MB);
        assertThat(pool.info().isBlocked()).isFalse();

        // 80MB live: 60MB untracked leaves 10MB, under what q1 holds: the node is blocked, as if q1 had over-reserved
        collect(80);
        assertThat(pool.maxBytes()).isEqualTo(10 * MB);
        assertThat(pool.info().isBlocked()).isTrue();

        // far more untracked than the pool: never under the floor (a tenth of the pool)
        collect(100);
        assertThat(pool.maxBytes()).isEqualTo(7 * MB);

        // the untracked memory went away: the whole pool again
        collect(20);
        assertThat(pool.maxBytes()).isEqualTo(70 * MB);

        HeapMemorySnapshot snapshot = governor.snapshot();
        assertThat(snapshot.governed()).isTrue();
        assertThat(snapshot.liveBytes()).isEqualTo(20 * MB);
        assertThat(snapshot.trackedBytes()).isEqualTo(20 * MB);
        assertThat(snapshot.untrackedBytes()).isZero();
        assertThat(snapshot.fullCollections()).isEqualTo(4);
        assertThat(snapshot.nodes().get("node-0")).isEqualTo(new HeapMemorySnapshot.NodeHeapSnapshot(70 * MB, 70 * MB, 20 * MB, 0));
        governor.close();
    }

    @Test
    void heapAPoolWasNeverGivenAbsorbsUntrackedMemoryFirst()
    {
        // the node governs a 70MB pool's worth of heap, but its pool was configured at 10MB (memory.pool.fixed.max-size)
        NodeMemoryManager small = new NodeMemoryManager(NODE, new FixedMemoryPool("general", 10 * MB), ExactMemoryTracker.root("node-0", 0),
                Clock.systemUTC(), Long.MAX_VALUE, Long.MAX_VALUE);
        HeapGovernor governor = new HeapGovernor(heap, HeapSettings.DEFAULTS, true, List.of(new HeapGovernor.GovernedNode(small, HEAP, 30 * MB)), Map.of(),
                (queryId, code, message) -> failed.add(queryId.toString()), Runnable::run, MetricsSink.NONE);

        // 60MB nobody tracks still leaves the node 10MB: the pool keeps its size
        collect(60);
        assertThat(small.pool().maxBytes()).isEqualTo(10 * MB);

        // 65MB leaves 5MB, under the floor of a tenth of the node's 70MB: the floor
        collect(65);
        assertThat(small.pool().maxBytes()).isEqualTo(7 * MB);
        governor.close();
    }

    @Test
    void aShrinkingMaximumMakesTheNodeRevoke()
    {
        List<String> requested = new CopyOnWriteArrayList<>();
        SpillStrategy everyone = (pool, consumers, bytes) -> consumers.stream().map(consumer -> new RevokeRequest(consumer.consumerId(), consumer.revocableBytes())).toList();
        MemoryRevokingScheduler revoker = new MemoryRevokingScheduler(node, everyone, 0.9, 0.5, executor, Duration.ofHours(1), (query, code, message) -> true);
        revoker.start();
        governor(true, Map.of(NODE, revoker));
        OperatorMemoryContext spilling = reserve("q1", 30 * MB, true);
        spilling.setRevocableConsumer(() -> {
            requested.add("q1");
            return new CompletableFuture<>();
        });
        assertThat(requested).isEmpty();

        // 40MB untracked: the pool's maximum drops to 30MB, all of it revocable and held
        collect(70);

        await().atMost(Duration.ofSeconds(10)).until(() -> !requested.isEmpty());
        assertThat(node.pool().maxBytes()).isEqualTo(30 * MB);
        revoker.close();
    }

    @Test
    void gcPressureRevokesFirstThenFailsTheLargestQueryOneVictimAtATime()
    {
        List<String> requested = new CopyOnWriteArrayList<>();
        MemoryRevokingScheduler revoker = new MemoryRevokingScheduler(node, SpillStrategy.NONE, 0.9, 0.5, executor, Duration.ofHours(1), (query, code, message) -> true);
        HeapGovernor governor = governor(true, Map.of(NODE, revoker));
        reserve("q1", 30 * MB, false);
        OperatorMemoryContext spilling = reserve("q2", 20 * MB, true);
        // a consumer that never finishes its spill: only the governor's escalation can relieve the heap
        spilling.setRevocableConsumer(() -> {
            requested.add("q2");
            return new CompletableFuture<>();
        });

        // two full collections that leave 95% of the heap live: not yet three in a row
        collect(95);
        collect(95);
        assertThat(requested).isEmpty();
        assertThat(failed).isEmpty();

        // the third: pressure; the first response is to revoke
        collect(95);
        assertThat(governor.snapshot().underGcPressure()).isTrue();
        assertThat(requested).containsExactly("q2");
        assertThat(failed).isEmpty();

        // still under pressure: the query holding the most memory fails, with the GC figures
        collect(95);
        assertThat(failed).hasSize(1);
        assertThat(failed.get(0))
                .startsWith("q1 EXCEEDED_HEAP_MEMORY_LIMIT Query killed because the JVM is under GC pressure and revoking did not relieve it: ")
                .contains("live heap after the last 3 full collections 95%, 95%, 95% of 100MB")
                .endsWith("It held 30MB on node-0, the most of any query");
        assertThat(governor.queriesKilledDueToHeapPressure()).isEqualTo(1);

        // q1 still holds its memory (its host has not let go yet): nothing else is failed meanwhile
        collect(95);
        collect(95);
        assertThat(failed).hasSize(1);

        // once it let go, the pressure goes on: the next victim
        node.failQuery(QueryId.of("q1"), ErrorCode.EXCEEDED_HEAP_MEMORY_LIMIT, "released by its host");
        collect(95);
        assertThat(failed).hasSize(2);
        assertThat(failed.get(1)).startsWith("q2 EXCEEDED_HEAP_MEMORY_LIMIT");

        // relief: nothing more
        collect(30);
        assertThat(governor.snapshot().underGcPressure()).isFalse();
        assertThat(failed).hasSize(2);
        governor.close();
    }

    @Test
    void aHeapNotGovernedIsObservedAndNotFollowed()
    {
        HeapGovernor governor = governor(false, Map.of());
        reserve("q1", 20 * MB, false);

        collect(95);
        collect(95);
        collect(95);
        collect(95);

        assertThat(node.pool().maxBytes()).isEqualTo(70 * MB);
        assertThat(failed).isEmpty();
        HeapMemorySnapshot snapshot = governor.snapshot();
        assertThat(snapshot.governed()).isFalse();
        assertThat(snapshot.underGcPressure()).isTrue();
        assertThat(snapshot.untrackedBytes()).isEqualTo(75 * MB);
        assertThat(snapshot.nodes().get("node-0").effectiveMaxBytes()).isEqualTo(70 * MB);
        governor.close();
    }

    private HeapGovernor governor(boolean governed, Map<NodeId, MemoryRevokingScheduler> revokers)
    {
        // the response runs on the calling thread: each collection's consequences are visible when collect() returns
        return new HeapGovernor(heap, HeapSettings.DEFAULTS, governed, List.of(new HeapGovernor.GovernedNode(node, HEAP, 30 * MB)), revokers,
                (queryId, code, message) -> failed.add(queryId + " " + code + " " + message), Runnable::run, MetricsSink.NONE);
    }

    private OperatorMemoryContext reserve(String queryId, long bytes, boolean revocable)
    {
        OperatorMemoryContext operator = node.createQuery(QueryId.of(queryId), QuerySession.of("alice")).addTask("0").addOperator(revocable ? "OrderBy" : "HashAggregation");
        (revocable ? operator.revocableMemory() : operator.userMemory()).setBytes(bytes);
        held.add(operator);
        return operator;
    }

    private void collect(long liveMegabytes)
    {
        clockMillis += 1_000;
        heap.collect(full(clockMillis, 20, liveMegabytes));
    }

    /** A heap whose collections the test makes. */
    private static final class FakeHeap
            implements HeapSource
    {
        private final HeapStatistics statistics;
        private final List<HeapListener> listeners = new CopyOnWriteArrayList<>();
        private long nowMillis;

        FakeHeap(long maxHeapBytes)
        {
            statistics = new HeapStatistics(maxHeapBytes, HeapSettings.DEFAULTS.gcTimeWindow(), HeapObserver.DEFAULT_SMOOTHING);
        }

        synchronized void collect(HeapCollection collection)
        {
            nowMillis = collection.startUptimeMillis() + collection.durationMillis();
            statistics.record(collection);
            HeapSnapshot snapshot = statistics.snapshot(nowMillis);
            listeners.forEach(listener -> listener.onCollection(collection, snapshot));
        }

        @Override
        public synchronized HeapSnapshot snapshot()
        {
            return statistics.snapshot(nowMillis);
        }

        @Override
        public HeapObserver.Registration addListener(HeapListener listener)
        {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }

        @Override
        public void close()
        {
            listeners.clear();
        }
    }
}
