package io.memgov.engine.internal.arbitration;

import io.memgov.engine.ArbitrationSnapshot;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.arbitration.ArbitrationCandidate;
import io.memgov.spi.arbitration.ArbitrationPlan;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.arbitration.ArbitrationStep;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The engine's side of arbitration: a node's blocked reservations planned at once and the plan's steps carried out, on real threads. */
@Timeout(30)
final class NodeArbitrationTest
{
    private static final long MIB = 1024 * 1024;
    private static final Duration LONG = Duration.ofSeconds(20);

    private final ExecutorService spillers = Executors.newCachedThreadPool();
    private final List<NodeArbitration> arbitrations = new CopyOnWriteArrayList<>();
    private final PolicyCallGuard guard = new PolicyCallGuard(Duration.ofSeconds(5));
    private final Map<String, QueryMemoryContext> queries = new ConcurrentHashMap<>();
    private final List<OperatorMemoryContext> operators = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown()
    {
        arbitrations.forEach(NodeArbitration::close);
        guard.close();
        spillers.shutdownNow();
    }

    @Test
    void aRequesterIsGrantedMemoryOnceAnotherQuerySpills()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        NodeArbitration arbitration = arbitrate(node, request -> ArbitrationPlan.of(new ArbitrationStep.Revoke(
                request.queries().stream().flatMap(query -> query.consumers().stream()).map(consumer -> consumer.consumerId()).toList(), LONG)));
        OperatorMemoryContext spiller = operator(node, "q1", "HashAggregation");
        spiller.setRevocableConsumer(spillingConsumer(spiller));
        spiller.revocableMemory().setBytes(8 * MIB);

        MemoryFuture blocked = operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MIB);

        // the arbitration thread asks q1 to spill, q1 spills on its own thread, the pool gets room and q2 goes on
        assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
        // the pool can signal before the spilling thread's call returns
        await().atMost(Duration.ofSeconds(5)).until(() -> spiller.revocableMemory().bytes() == 0);
        assertThat(node.pool().info().reservedBytes()).isEqualTo(5 * MIB);
        // the pool may make room before the arbitration thread has counted its revoke: let it finish
        await().atMost(Duration.ofSeconds(5)).until(() -> !arbitration.isRunning());
        ArbitrationSnapshot snapshot = arbitration.statistics().snapshot();
        assertThat(snapshot.arbitrations()).isEqualTo(1);
        assertThat(snapshot.revokeRequests()).isEqualTo(1);
        assertThat(snapshot.revokeRequestedBytes()).isEqualTo(8 * MIB);
        assertThat(snapshot.kills()).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> arbitration.statistics().snapshot().reliefs() == 1);
    }

    @Test
    void theRequestShowsEveryQueryWithWhatItCouldGiveBack()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        CompletableFuture<ArbitrationRequest> seen = new CompletableFuture<>();
        arbitrate(node, request -> {
            seen.complete(request);
            return ArbitrationPlan.WAIT;
        });
        OperatorMemoryContext spiller = operator(node, "q1", "HashAggregation");
        spiller.setRevocableConsumer(spillingConsumer(spiller));
        spiller.revocableMemory().setBytes(4 * MIB);
        spiller.userMemory().setBytes(MIB);
        OperatorMemoryContext requester = operator(node, "q2", "HashBuilder");
        requester.userMemory().setBytes(7 * MIB);

        ArbitrationRequest request = seen.join();
        assertThat(request.requester()).isEqualTo(QueryId.of("q2"));
        assertThat(request.requestedBytes()).isEqualTo(7 * MIB);
        assertThat(request.pool().freeBytes()).isEqualTo(-2 * MIB);
        assertThat(request.bytesToFree()).isEqualTo(2 * MIB + 1);
        assertThat(request.queries()).extracting(ArbitrationCandidate::queryId).containsExactly(QueryId.of("q2"), QueryId.of("q1"));
        ArbitrationCandidate q1 = request.queries().get(1);
        assertThat(q1.userBytes()).isEqualTo(MIB);
        assertThat(q1.revocableBytes()).isEqualTo(4 * MIB);
        assertThat(q1.consumers()).singleElement().satisfies(consumer -> {
            assertThat(consumer.tag()).isEqualTo("HashAggregation");
            assertThat(consumer.revocableBytes()).isEqualTo(4 * MIB);
        });
        assertThat(request.queries().get(0).consumers()).isEmpty();
    }

    @Test
    void aPausedRequesterResumesWhenMemoryIsFreed()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        arbitrate(node, request -> ArbitrationPlan.of(new ArbitrationStep.Pause(LONG), new ArbitrationStep.Fail("paused too long")));
        OperatorMemoryContext holder = operator(node, "q1", "TableScan");
        holder.userMemory().setBytes(8 * MIB);
        MemoryFuture blocked = operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MIB);
        await().atMost(Duration.ofSeconds(5)).until(() -> arbitration(node).statistics().snapshot().pauses() == 1);

        holder.userMemory().setBytes(0);

        assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
        // the pause ends with the relief, well before its 20s, and the fail step after it never runs
        await().atMost(Duration.ofSeconds(5)).until(() -> !arbitrationRunning(node));
        assertThat(node.queryContext(QueryId.of("q2")).orElseThrow().failure()).isEmpty();
        assertThat(arbitration(node).statistics().snapshot().failures()).isZero();
    }

    @Test
    void aPausedRequesterFailsAfterItsTimeoutAndReleasesWhatItHeld()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        arbitrate(node, request -> ArbitrationPlan.of(new ArbitrationStep.Pause(Duration.ofMillis(200)), new ArbitrationStep.Fail("no room came within 200ms")));
        operator(node, "q1", "TableScan").userMemory().setBytes(8 * MIB);
        OperatorMemoryContext requester = operator(node, "q2", "HashBuilder");
        requester.userMemory().setBytes(5 * MIB);

        QueryMemoryContext q2 = node.query(QueryId.of("q2")).orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> node.queryContext(QueryId.of("q2")).orElseThrow().failure().isPresent());
        assertThat(node.queryContext(QueryId.of("q2")).orElseThrow().failure().orElseThrow()).satisfies(failure -> {
            assertThat(failure.errorCode()).isEqualTo(ErrorCode.MEMORY_ARBITRATION_FAILED);
            assertThat(failure.getMessage())
                    .startsWith("no room came within 200ms (memory arbitrator 'test' of node-test; q2 asked for 5MB; steps: paused ")
                    .endsWith("ms, failed the requester)");
        });
        // what the failed requester held went back to the pool; the other query keeps its memory
        assertThat(node.pool().info().reservedBytes()).isEqualTo(8 * MIB);
        assertThat(q2.userBytes()).isZero();
        assertThat(arbitration(node).statistics().snapshot().failures()).isEqualTo(1);
    }

    @Test
    void stepsStopOnceThePoolHasRoom()
    {
        // the revoke makes room, so the kill after it never runs
        NodeMemoryManager node = node(10 * MIB, 0);
        arbitrate(node, request -> ArbitrationPlan.of(
                new ArbitrationStep.Revoke(request.queries().stream().flatMap(query -> query.consumers().stream()).map(consumer -> consumer.consumerId()).toList(), LONG),
                new ArbitrationStep.Kill(QueryId.of("q1"), "should not run", LONG)));
        OperatorMemoryContext spiller = operator(node, "q1", "HashAggregation");
        spiller.setRevocableConsumer(spillingConsumer(spiller));
        spiller.revocableMemory().setBytes(8 * MIB);

        MemoryFuture blocked = operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MIB);

        assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
        assertThat(node.queryContext(QueryId.of("q1")).orElseThrow().failure()).isEmpty();
        assertThat(arbitration(node).statistics().snapshot().kills()).isZero();
    }

    @Test
    void aKillRunsWhenTheRevokeDidNotMakeRoomInTime()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        arbitrate(node, request -> ArbitrationPlan.of(
                new ArbitrationStep.Revoke(request.queries().stream().flatMap(query -> query.consumers().stream()).map(consumer -> consumer.consumerId()).toList(),
                        Duration.ofMillis(100)),
                new ArbitrationStep.Kill(QueryId.of("q1"), "Killed to make room", LONG)));
        OperatorMemoryContext stuck = operator(node, "q1", "HashAggregation");
        // a consumer whose spill never ends
        stuck.setRevocableConsumer(new RevocableConsumer()
        {
            @Override
            public CompletableFuture<?> startMemoryRevoke()
            {
                return new CompletableFuture<>();
            }

            @Override
            public void finishMemoryRevoke() {}
        });
        stuck.revocableMemory().setBytes(8 * MIB);

        MemoryFuture blocked = operator(node, "q2", "HashBuilder").userMemory().setBytes(5 * MIB);

        assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
        assertThat(node.queryContext(QueryId.of("q1")).orElseThrow().failure().orElseThrow()).satisfies(failure -> {
            assertThat(failure.errorCode()).isEqualTo(ErrorCode.MEMORY_ARBITRATION_FAILED);
            assertThat(failure.getMessage()).startsWith("Killed to make room (memory arbitrator 'test' of node-test; q2 asked for 5MB; steps: revoked 8MB of 1 consumers (");
        });
        assertThat(node.pool().info().reservedBytes()).isEqualTo(5 * MIB);
        // the kill released the pool before the arbitration thread counted it: let it finish
        await().atMost(Duration.ofSeconds(5)).until(() -> !arbitrationRunning(node));
        ArbitrationSnapshot snapshot = arbitration(node).statistics().snapshot();
        assertThat(snapshot.kills()).isEqualTo(1);
        assertThat(snapshot.killedBytes()).isEqualTo(8 * MIB);
    }

    @Test
    void oneArbitrationAtATimePerNode()
            throws InterruptedException
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger mostInside = new AtomicInteger();
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch firstCall = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        arbitrate(node, request -> {
            mostInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            calls.incrementAndGet();
            firstCall.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inside.decrementAndGet();
            return ArbitrationPlan.WAIT;
        });
        // a reservation that leaves the pool exactly full blocks too (Trino's rule): the holder leaves 1MB
        operator(node, "q0", "TableScan").userMemory().setBytes(9 * MIB);
        MemoryFuture first = operator(node, "q1", "HashBuilder").userMemory().setBytes(2 * MIB);
        awaitLatch(firstCall);
        // three more requesters block while the first arbitration runs: they queue
        Thread[] threads = new Thread[3];
        for (int i = 0; i < threads.length; i++) {
            String query = "q" + (i + 2);
            threads[i] = new Thread(() -> operator(node, query, "HashBuilder").userMemory().setBytes(2 * MIB));
            threads[i].start();
        }
        for (Thread thread : threads) {
            thread.join(10_000);
        }
        assertThat(calls.get()).isEqualTo(1);

        release.countDown();

        await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() == 4);
        assertThat(mostInside.get()).isEqualTo(1);
        assertThat(first).isNotDone();
    }

    @Test
    void requestersWhosePoolMadeRoomBeforeTheirTurnAreNotArbitrated()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        CountDownLatch firstCall = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        arbitrate(node, request -> {
            calls.incrementAndGet();
            firstCall.countDown();
            awaitQuietly(release);
            return ArbitrationPlan.WAIT;
        });
        OperatorMemoryContext holder = operator(node, "q0", "TableScan");
        holder.userMemory().setBytes(9 * MIB);
        operator(node, "q1", "HashBuilder").userMemory().setBytes(2 * MIB);
        awaitLatch(firstCall);
        MemoryFuture second = operator(node, "q2", "HashBuilder").userMemory().setBytes(2 * MIB);

        holder.userMemory().setBytes(0);
        assertThat(second).succeedsWithin(Duration.ofSeconds(5));
        release.countDown();

        await().atMost(Duration.ofSeconds(5)).until(() -> arbitration(node).statistics().snapshot().reliefs() == 2);
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void aRequesterKilledMidPlanEndsItsPauseAndLeaksNothing()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        arbitrate(node, request -> ArbitrationPlan.of(new ArbitrationStep.Pause(LONG), new ArbitrationStep.Kill(QueryId.of("q1"), "should not run", LONG)));
        operator(node, "q1", "TableScan").userMemory().setBytes(8 * MIB);
        OperatorMemoryContext requester = operator(node, "q2", "HashBuilder");
        requester.userMemory().setBytes(5 * MIB);
        requester.revocableMemory().setBytes(MIB);
        await().atMost(Duration.ofSeconds(5)).until(() -> arbitration(node).statistics().snapshot().pauses() == 1);
        long pausedAt = System.nanoTime();

        // the cluster loop (here: the test) kills the requester while its arbitration pauses it
        node.failQuery(QueryId.of("q2"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the cluster loop");

        // the pause ends without waiting out its 20s, and the kill after it never runs
        await().atMost(Duration.ofSeconds(5)).until(() -> !arbitrationRunning(node));
        assertThat(Duration.ofNanos(System.nanoTime() - pausedAt)).isLessThan(LONG);
        assertThat(node.queryContext(QueryId.of("q1")).orElseThrow().failure()).isEmpty();
        assertThat(node.pool().info().reservedBytes()).isEqualTo(8 * MIB);
        assertThat(node.pool().info().reservedRevocableBytes()).isZero();
        assertThat(arbitration(node).statistics().snapshot().kills()).isZero();
    }

    @Test
    void anArbitratorThatThrowsLeavesTheRequesterWaitingAndTheNodeWorking()
    {
        NodeMemoryManager node = node(10 * MIB, 0);
        AtomicInteger calls = new AtomicInteger();
        arbitrate(node, request -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("broken arbitrator");
            }
            return null;
        });
        OperatorMemoryContext holder = operator(node, "q0", "TableScan");
        holder.userMemory().setBytes(9 * MIB);
        MemoryFuture first = operator(node, "q1", "HashBuilder").userMemory().setBytes(2 * MIB);
        MemoryFuture second = operator(node, "q2", "HashBuilder").userMemory().setBytes(2 * MIB);
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() == 2);

        // both calls were treated as "wait": nobody was failed, and a free still relieves them
        assertThat(node.queryContexts()).allSatisfy(query -> assertThat(query.failure()).isEmpty());
        holder.userMemory().setBytes(0);
        assertThat(first).succeedsWithin(Duration.ofSeconds(5));
        assertThat(second).succeedsWithin(Duration.ofSeconds(5));
    }

    @Test
    void reclaimGivesBackTheQuantumSlackOfEveryQuery()
    {
        // 1MB quanta: 1.5MB set reserves 2MB, so each context holds 0.5MB it does not use
        NodeMemoryManager node = node(10 * MIB, MIB);
        CompletableFuture<ArbitrationRequest> seen = new CompletableFuture<>();
        arbitrate(node, request -> {
            seen.complete(request);
            return ArbitrationPlan.of(new ArbitrationStep.Reclaim());
        });
        OperatorMemoryContext a = operator(node, "q1", "HashAggregation");
        a.userMemory().setBytes(MIB + MIB / 2);
        OperatorMemoryContext b = operator(node, "q1", "Window");
        b.userMemory().setBytes(MIB + MIB / 2);
        assertThat(node.pool().info().reservedBytes()).isEqualTo(4 * MIB);
        OperatorMemoryContext requester = operator(node, "q2", "HashBuilder");
        MemoryFuture blocked = requester.userMemory().setBytes(6 * MIB + MIB / 2);

        assertThat(blocked).succeedsWithin(Duration.ofSeconds(10));
        // the arbitration starts at once, so the pool the reservation left is read from the request, not after it
        assertThat(seen.join().pool().freeBytes()).isEqualTo(-MIB);
        assertThat(seen.join().queries()).filteredOn(query -> query.queryId().equals(QueryId.of("q1")))
                .singleElement().extracting(ArbitrationCandidate::unusedReservationBytes).isEqualTo(MIB);
        // a decrease releases to the pool before the context records it, so the relief can come before the last trim
        // is visible: let the arbitration finish
        await().atMost(Duration.ofSeconds(5)).until(() -> !arbitrationRunning(node));
        // every context keeps its bytes and its reservation shrank to them: q1's two halves and q2's own half quantum
        assertThat(a.userMemory().bytes()).isEqualTo(MIB + MIB / 2);
        assertThat(a.userMemory().reservedBytes()).isEqualTo(MIB + MIB / 2);
        assertThat(b.userMemory().reservedBytes()).isEqualTo(MIB + MIB / 2);
        assertThat(requester.userMemory().reservedBytes()).isEqualTo(6 * MIB + MIB / 2);
        assertThat(node.pool().freeBytes()).isEqualTo(MIB / 2);
        assertThat(arbitration(node).statistics().snapshot().reclaimedBytes()).isEqualTo(3 * MIB / 2);
        // the contexts go on as before: a growth rounds up to the quantum again
        a.userMemory().setBytes(MIB + MIB / 2 + 1);
        assertThat(a.userMemory().reservedBytes()).isEqualTo(2 * MIB);
    }

    private NodeMemoryManager node(long poolBytes, long quantum)
    {
        return new NodeMemoryManager(NodeId.of("node-test"), MemoryPoolLayout.of(new FixedMemoryPool("general", poolBytes)), ExactMemoryTracker.root("node-test", 0),
                Clock.systemUTC(), Long.MAX_VALUE, Long.MAX_VALUE, null, quantum);
    }

    private NodeArbitration arbitrate(NodeMemoryManager node, MemoryArbitrator arbitrator)
    {
        NodeArbitration arbitration = new NodeArbitration(node, arbitrator, "test", guard, node::failQuery, Clock.systemUTC(),
                new ArbitrationStatistics("test", MetricsSink.NONE));
        node.onBlockedReservation(arbitration);
        arbitrations.add(arbitration);
        return arbitration;
    }

    private NodeArbitration arbitration(NodeMemoryManager node)
    {
        return arbitrations.stream().filter(arbitration -> arbitration.policyName().endsWith(node.nodeId().toString())).findFirst().orElseThrow();
    }

    private boolean arbitrationRunning(NodeMemoryManager node)
    {
        return arbitration(node).isRunning();
    }

    // the host's handles are held to the end of the test: a dropped one is collected and its query released
    private OperatorMemoryContext operator(NodeMemoryManager node, String queryId, String tag)
    {
        QueryMemoryContext query = queries.computeIfAbsent(queryId, id -> node.createQuery(QueryId.of(id), QuerySession.of("alice")));
        OperatorMemoryContext operator = query.addTask(String.valueOf(query.tasks().size())).addOperator(tag);
        operators.add(operator);
        return operator;
    }

    // spills on its own thread, as an operator's driver would
    private RevocableConsumer spillingConsumer(OperatorMemoryContext operator)
    {
        return new RevocableConsumer()
        {
            @Override
            public CompletableFuture<?> startMemoryRevoke()
            {
                return CompletableFuture.runAsync(() -> operator.revocableMemory().setBytes(0), spillers);
            }

            @Override
            public void finishMemoryRevoke() {}
        };
    }

    private static void awaitLatch(CountDownLatch latch)
    {
        try {
            assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static void awaitQuietly(CountDownLatch latch)
    {
        try {
            latch.await(10, TimeUnit.SECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
