package io.memgov.arrow;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.AllocationReservation;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OutOfMemoryException;
import org.apache.arrow.memory.unsafe.UnsafeAllocationManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static io.memgov.arrow.TestEngines.engine;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

final class ArrowOperatorMemoryTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll()
            throws Exception
    {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @Test
    void reservesWhatArrowCountsRoundingIncludedAndReturnsToZero()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        ArrowOperatorMemory memory = arrow.operator(operator);
        BufferAllocator allocator = memory.newAllocator("build");

        // Arrow rounds 1,000 to 1,024 below its chunk size, and counts 17 MB + 1 exactly above it
        ArrowBuf small = allocator.buffer(1000);
        ArrowBuf large = allocator.buffer(17 * MB + 1);
        assertThat(allocator.getAllocatedMemory()).isEqualTo(1024 + 17 * MB + 1);
        assertThat(operator.userMemory().bytes()).isEqualTo(allocator.getAllocatedMemory());
        assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(allocator.getAllocatedMemory());
        assertThat(arrow.allocatedBytes()).isEqualTo(allocator.getAllocatedMemory());

        small.close();
        assertThat(operator.userMemory().bytes()).isEqualTo(17 * MB + 1);
        large.close();
        assertThat(operator.userMemory().bytes()).isZero();
        assertThat(engine.node(0).pool().reservedBytes()).isZero();

        memory.close();
        assertThat(arrow.leakCount()).isZero();
        assertThat(arrow.allocatedBytes()).isZero();
        assertThat(operator.task().operators()).isEmpty();
    }

    @Test
    void onANodeWithADirectPoolUserAndRevocableAllocatorsReserveTheDirectKindsAndTheHeapPoolKeepsTheHeap()
    {
        MemoryEngine engine = open(engine("64MB", "32MB", Map.of("node.direct-memory-size", "16MB")));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        NodeMemory node = engine.node(0);
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        ArrowOperatorMemory memory = arrow.operator(operator);
        BufferAllocator allocator = memory.newAllocator("build");
        BufferAllocator state = memory.newAllocator("state", OperatorMemoryContext::revocableMemory);
        assertThat(memory.memoryFor(OperatorMemoryContext::userMemory)).isSameAs(operator.directMemory());
        assertThat(memory.memoryFor(OperatorMemoryContext::revocableMemory)).isSameAs(operator.directRevocableMemory());
        assertThat(memory.memoryFor(OperatorMemoryContext::systemMemory)).isSameAs(operator.systemMemory());
        // the host's own heap bytes for the operator
        operator.userMemory().setBytes(3 * MB);

        try (ArrowBuf buffer = allocator.buffer(1000); ArrowBuf table = state.buffer(MB)) {
            // Arrow rounds 1,000 to 1,024, and the direct pool holds what Arrow counts
            assertThat(operator.directMemory().bytes()).isEqualTo(allocator.getAllocatedMemory()).isEqualTo(1024);
            assertThat(operator.directRevocableMemory().bytes()).isEqualTo(state.getAllocatedMemory()).isEqualTo(MB);
            assertThat(node.directPool().orElseThrow().reservedBytes()).isEqualTo(1024);
            assertThat(node.directPool().orElseThrow().reservedRevocableBytes()).isEqualTo(MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(3 * MB);
            assertThat(node.pool().reservedRevocableBytes()).isZero();
            assertThat(operator.userMemory().bytes()).isEqualTo(3 * MB);
        }
        assertThat(node.directPool().orElseThrow().reservedBytes()).isZero();
        assertThat(node.directPool().orElseThrow().reservedRevocableBytes()).isZero();
        memory.close();
        assertThat(arrow.leakCount()).isZero();
    }

    @Test
    @Timeout(30)
    void aFullDirectPoolMakesTheAllocationWaitThenFailNamingTheDirectPoolWhileTheHeapPoolHasRoom()
    {
        MemoryEngine engine = open(engine("64MB", "32MB", Map.of("node.direct-memory-size", "8MB")));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.builder(engine.node(0)).maxWait(Duration.ofMillis(200)).build());
        NodeMemory node = engine.node(0);
        operator(engine, "q1", "OrderBy").directMemory().setBytes(7 * MB);
        OperatorMemoryContext operator = operator(engine, "q2", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        assertThatThrownBy(() -> allocator.buffer(2 * MB))
                .isInstanceOf(OutOfMemoryException.class)
                .hasMessage("Arrow allocation of 2MB by operator q2.0 HashAggregation (direct memory) not granted: memory pool 'direct' of node "
                        + node.nodeId() + " [max 8MB, reserved 9MB, revocable 0B] stayed full for 200ms");
        assertThat(node.directPool().orElseThrow().reservedBytes()).isEqualTo(7 * MB);
        assertThat(operator.directMemory().bytes()).isZero();
        assertThat(allocator.getAllocatedMemory()).isZero();
        // the heap pool is another budget, empty all along
        assertThat(node.pool().reservedBytes()).isZero();
    }

    @Test
    void theDirectLimitRefusesAnArrowAllocationWithItsOwnCode()
    {
        MemoryEngine engine = open(engine("64MB", "32MB", Map.of("node.direct-memory-size", "16MB", "query.max-direct-memory-per-node", "2MB")));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        assertThatThrownBy(() -> allocator.buffer(3 * MB))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_DIRECT_MEMORY_LIMIT))
                .hasMessageStartingWith("Query exceeded per-node direct memory limit of 2MB");
        assertThat(allocator.getAllocatedMemory()).isZero();
        assertThat(engine.node(0).directPool().orElseThrow().reservedBytes()).isZero();
    }

    @Test
    void revocableAllocatorsReserveRevocableMemory()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        ArrowOperatorMemory memory = arrow.operator(operator);
        BufferAllocator state = memory.newAllocator("state", OperatorMemoryContext::revocableMemory);
        BufferAllocator output = memory.newAllocator("output");

        try (ArrowBuf table = state.buffer(MB); ArrowBuf page = output.buffer(64 * KB)) {
            assertThat(operator.revocableMemory().bytes()).isEqualTo(MB);
            assertThat(operator.userMemory().bytes()).isEqualTo(64 * KB);
            assertThat(engine.node(0).pool().reservedRevocableBytes()).isEqualTo(MB);
            assertThat(memory.allocatedBytes()).isEqualTo(MB + 64 * KB);
        }
        assertThat(operator.revocableMemory().bytes()).isZero();
        assertThat(operator.userMemory().bytes()).isZero();
    }

    @Test
    void aLimitRefusesTheAllocationBeforeArrowCountsIt()
    {
        MemoryEngine engine = open(engine("64MB", "2MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        try (ArrowBuf held = allocator.buffer(MB + 1)) {
            assertThat(allocator.getAllocatedMemory()).isEqualTo(2 * MB);
            assertThatThrownBy(() -> allocator.buffer(1))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessageStartingWith("Query exceeded per-node memory limit of 2MB");
            // nothing changed, on either side
            assertThat(allocator.getAllocatedMemory()).isEqualTo(2 * MB);
            assertThat(operator.userMemory().bytes()).isEqualTo(2 * MB);
            assertThat(arrow.allocatedBytes()).isEqualTo(2 * MB);
        }
        assertThat(operator.userMemory().bytes()).isZero();
    }

    @Test
    void arrowsOwnLimitRefusesAfterMemgovGrantedAndTheReservationIsWithdrawn()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build", OperatorMemoryContext::userMemory, MB);

        try (ArrowBuf held = allocator.buffer(MB / 2)) {
            assertThatThrownBy(() -> allocator.buffer(MB))
                    .isInstanceOf(OutOfMemoryException.class)
                    .hasMessageContaining("Unable to allocate buffer of size 1048576 due to memory limit");
            assertThat(operator.userMemory().bytes()).isEqualTo(MB / 2);
            assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(MB / 2);
        }
    }

    @Test
    @Timeout(30)
    void anAllocationTheFullPoolCannotTakeWaitsReservedBeforeArrowCountsItThenProceeds()
            throws Exception
    {
        MemoryEngine engine = open(engine("8MB", "8MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.builder(engine.node(0)).maxWait(Duration.ofSeconds(20)).build());
        NodeMemory node = engine.node(0);
        LocalMemoryContext other = operator(engine, "q1", "OrderBy").userMemory();
        other.setBytes(7 * MB);
        OperatorMemoryContext operator = operator(engine, "q2", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        ExecutorService executor = Executors.newSingleThreadExecutor();
        toClose.add(executor::shutdownNow);
        Future<ArrowBuf> allocation = executor.submit(() -> allocator.buffer(2 * MB));

        // memgov recorded the bytes (over-committing the pool, which blocks the node) while Arrow has not counted them
        await().atMost(10, TimeUnit.SECONDS).until(() -> node.pool().reservedBytes() == 9 * MB);
        assertThat(allocation).isNotDone();
        assertThat(allocator.getAllocatedMemory()).isZero();
        assertThat(operator.userMemory().bytes()).isEqualTo(2 * MB);

        other.setBytes(0);
        try (ArrowBuf buffer = allocation.get(10, TimeUnit.SECONDS)) {
            assertThat(buffer.capacity()).isEqualTo(2 * MB);
            assertThat(allocator.getAllocatedMemory()).isEqualTo(2 * MB);
            assertThat(operator.userMemory().bytes()).isEqualTo(2 * MB);
        }
        assertThat(node.pool().reservedBytes()).isZero();
    }

    @Test
    @Timeout(30)
    void aPoolStillFullAfterTheWaitFailsWithArrowsOutOfMemoryAndChangesNothing()
    {
        MemoryEngine engine = open(engine("8MB", "8MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.builder(engine.node(0)).maxWait(Duration.ofMillis(200)).build());
        NodeMemory node = engine.node(0);
        operator(engine, "q1", "OrderBy").userMemory().setBytes(7 * MB);
        OperatorMemoryContext operator = operator(engine, "q2", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        assertThatThrownBy(() -> allocator.buffer(2 * MB))
                .isInstanceOf(OutOfMemoryException.class)
                .hasMessage("Arrow allocation of 2MB by operator q2.0 HashAggregation (user memory) not granted: memory pool 'general' of node "
                        + node.nodeId() + " [max 8MB, reserved 9MB, revocable 0B] stayed full for 200ms");
        assertThat(node.pool().reservedBytes()).isEqualTo(7 * MB);
        assertThat(operator.userMemory().bytes()).isZero();
        assertThat(allocator.getAllocatedMemory()).isZero();
    }

    @Test
    @Timeout(30)
    void aRevokeRequestEndsTheWaitSoThatTheOperatorCanSpill()
            throws Exception
    {
        MemoryEngine engine = open(engine("8MB", "8MB"));
        // a wait far longer than the test: only the revoke request can end it
        ArrowNodeMemory arrow = open(ArrowNodeMemory.builder(engine.node(0)).maxWait(Duration.ofMinutes(5)).build());
        NodeMemory node = engine.node(0);
        LocalMemoryContext other = operator(engine, "q1", "OrderBy").userMemory();
        OperatorMemoryContext operator = operator(engine, "q2", "HashAggregation");
        BufferAllocator state = arrow.operator(operator).newAllocator("state", OperatorMemoryContext::revocableMemory);
        ArrowBuf table = state.buffer(2 * MB);
        other.setBytes(5 * MB);

        ExecutorService executor = Executors.newSingleThreadExecutor();
        toClose.add(executor::shutdownNow);
        Future<ArrowBuf> growth = executor.submit(() -> state.buffer(2 * MB));
        await().atMost(10, TimeUnit.SECONDS).until(() -> node.pool().reservedRevocableBytes() == 4 * MB);

        // what the node's revoking scheduler does when the pool is full
        assertThat(operator.requestMemoryRevoking()).isEqualTo(4 * MB);
        assertThatThrownBy(() -> growth.get(10, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(RevocationRequestedException.class)
                .hasMessage("Arrow allocation of 2MB by operator q2.0 HashAggregation (revocable memory) withdrawn: the operator was asked to give memory back "
                        + "while it waited for memory pool 'general' of node " + node.nodeId() + " [max 8MB, reserved 5MB, revocable 4MB]");
        assertThat(operator.revocableMemory().bytes()).isEqualTo(2 * MB).isEqualTo(state.getAllocatedMemory());

        // the operator spills: its revocable memory drops to zero, which completes the request
        table.close();
        assertThat(operator.isMemoryRevokingRequested()).isFalse();
        assertThat(node.pool().reservedRevocableBytes()).isZero();
    }

    @Test
    void aKilledQueryFailsItsNextAllocationAndItsBuffersStillReleaseQuietly()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");
        ArrowBuf held = allocator.buffer(MB);

        operator.task().query().fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test");
        assertThat(engine.node(0).pool().reservedBytes()).isZero();
        assertThatThrownBy(() -> allocator.buffer(KB))
                .isInstanceOf(QueryKilledException.class)
                .hasMessageContaining("killed by the test");
        assertThat(allocator.getAllocatedMemory()).isEqualTo(MB);

        held.close();
        assertThat(allocator.getAllocatedMemory()).isZero();
        assertThat(engine.node(0).pool().reservedBytes()).isZero();
    }

    @Test
    void closingTheOperatorClosesItsAllocatorsAndReportsALeakWithArrowsAccount()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        List<AllocatorLeak> leaks = new CopyOnWriteArrayList<>();
        ArrowNodeMemory arrow = open(ArrowNodeMemory.builder(engine.node(0)).leakListener(leaks::add).build());
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        ArrowOperatorMemory memory = arrow.operator(operator);
        BufferAllocator clean = memory.newAllocator("clean");
        BufferAllocator leaky = memory.newAllocator("leaky", OperatorMemoryContext::revocableMemory);
        clean.buffer(KB).close();
        // never released: the native memory stays allocated until the JVM exits (4 kB)
        leaky.buffer(4 * KB);

        memory.close();

        assertThat(leaks).singleElement().satisfies(leak -> {
            assertThat(leak.taskId()).isEqualTo(operator.task().taskId());
            assertThat(leak.tag()).isEqualTo("HashAggregation");
            assertThat(leak.allocatorName()).isEqualTo("q1.0 HashAggregation leaky");
            assertThat(leak.memoryKind()).isEqualTo("revocable");
            assertThat(leak.outstandingBytes()).isEqualTo(4 * KB);
            // Arrow's own account of the allocator
            assertThat(leak.arrowState()).contains("q1.0 HashAggregation leaky").contains("4096");
        });
        assertThat(arrow.leakCount()).isOne();
        assertThat(memory.isClosed()).isTrue();
        assertThat(memory.allocators()).isEmpty();
        assertThatThrownBy(() -> memory.newAllocator("late"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Arrow memory of operator q1.0 HashAggregation is closed");
        // the memgov context is closed and released everything; Arrow's root still counts the leaked bytes
        assertThat(operator.task().operators()).isEmpty();
        assertThat(engine.node(0).pool().reservedBytes()).isZero();
        assertThat(arrow.allocatedBytes()).isEqualTo(4 * KB);
        assertThat(arrow.operators()).isEmpty();
    }

    @Test
    void aTransferThroughTheAdapterMovesTheReservationAtOnce()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext producer = operator(engine, "q1", "Exchange");
        OperatorMemoryContext consumer = operator(engine, "q2", "HashAggregation");
        BufferAllocator from = arrow.operator(producer).newAllocator("output");
        BufferAllocator to = arrow.operator(consumer).newAllocator("input");

        ArrowBuf sent = from.buffer(64 * KB);
        ArrowBuf received = arrow.transfer(sent, to).getTransferredBuffer();
        sent.close();

        assertThat(producer.userMemory().bytes()).isZero();
        assertThat(consumer.userMemory().bytes()).isEqualTo(64 * KB).isEqualTo(to.getAllocatedMemory());
        assertThat(engine.node(0).pool().queryReservedBytes(QueryId.of("q2"))).isEqualTo(64 * KB);
        received.close();
        assertThat(consumer.userMemory().bytes()).isZero();
    }

    @Test
    void arrowsOwnTransferCallsNoListenerAndIsPickedUpByReconcileOrTheNextCallback()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext producer = operator(engine, "q1", "Exchange");
        OperatorMemoryContext consumer = operator(engine, "q2", "HashAggregation");
        BufferAllocator from = arrow.operator(producer).newAllocator("output");
        BufferAllocator to = arrow.operator(consumer).newAllocator("input");

        ArrowBuf sent = from.buffer(64 * KB);
        ArrowBuf received = sent.getReferenceManager().transferOwnership(sent, to).getTransferredBuffer();
        sent.close();
        // the trap: Arrow moved the bytes and told nobody
        assertThat(to.getAllocatedMemory()).isEqualTo(64 * KB);
        assertThat(consumer.userMemory().bytes()).isZero();
        assertThat(producer.userMemory().bytes()).isEqualTo(64 * KB);

        arrow.operator(consumer).reconcile();
        assertThat(consumer.userMemory().bytes()).isEqualTo(64 * KB);
        // the producer's next allocation re-reads its counter
        from.buffer(KB).close();
        assertThat(producer.userMemory().bytes()).isZero();
        received.close();
        assertThat(consumer.userMemory().bytes()).isZero();
    }

    @Test
    void anAllocationReservationIsCountedWhenUsedOrReconciled()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        ArrowOperatorMemory memory = arrow.operator(operator);
        BufferAllocator allocator = memory.newAllocator("build");

        try (AllocationReservation reservation = allocator.newReservation()) {
            // add() rounds to a power of two and counts it in Arrow with no listener call
            assertThat(reservation.add(1000)).isTrue();
            assertThat(allocator.getAllocatedMemory()).isEqualTo(1024);
            memory.reconcile();
            assertThat(operator.userMemory().bytes()).isEqualTo(1024);
        }
        // closing it unused gives the bytes back with no listener call either
        assertThat(allocator.getAllocatedMemory()).isZero();
        memory.reconcile();
        assertThat(operator.userMemory().bytes()).isZero();

        AllocationReservation used = allocator.newReservation();
        used.add(3000);
        // allocateBuffer() calls onAllocation only: the listener re-reads the counter there
        try (ArrowBuf buffer = used.allocateBuffer()) {
            assertThat(operator.userMemory().bytes()).isEqualTo(4096).isEqualTo(allocator.getAllocatedMemory());
        }
        used.close();
        assertThat(operator.userMemory().bytes()).isZero();
    }

    @Test
    void childrenOfAnOperatorAllocatorCountTowardsItsContext()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        // a child's initial reservation comes out of its parent when the child is made: onChildAdded
        BufferAllocator child = allocator.newChildAllocator("vectors", 4 * KB, Long.MAX_VALUE);
        assertThat(operator.userMemory().bytes()).isEqualTo(4 * KB);
        try (ArrowBuf inside = child.buffer(KB); ArrowBuf beyond = child.buffer(8 * KB)) {
            // the child holds 9 kB, 4 kB of them inside its reservation: its parent counts 4 kB + the 5 kB beyond
            assertThat(child.getAllocatedMemory()).isEqualTo(9 * KB);
            assertThat(allocator.getAllocatedMemory()).isEqualTo(9 * KB);
            assertThat(operator.userMemory().bytes()).isEqualTo(9 * KB);
        }
        assertThat(operator.userMemory().bytes()).isEqualTo(4 * KB);
        child.close();
        assertThat(operator.userMemory().bytes()).isZero();
    }

    @Test
    void nothingAllocatesFromTheNodesRoot()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        BufferAllocator allocator = arrow.operator(operator(engine, "q1", "HashAggregation")).newAllocator("build");

        assertThatThrownBy(() -> allocator.getRoot().buffer(10))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Allocation of 16B from the Arrow root of node " + engine.node(0).nodeId()
                        + " refused: allocate from an operator's allocator (ArrowOperatorMemory.newAllocator)");
        BufferAllocator ungoverned = allocator.getRoot().newChildAllocator("ungoverned", 0, Long.MAX_VALUE);
        assertThatThrownBy(() -> ungoverned.buffer(10)).isInstanceOf(IllegalStateException.class);
        ungoverned.close();
        assertThat(arrow.allocatedBytes()).isZero();
    }

    @Test
    void anAllocationManagerThatThrowsLeavesNoReservationOnceTheThreadAllocatesAgain()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        long failingSize = 8 * MB;
        AllocationManager.Factory failing = new AllocationManager.Factory()
        {
            @Override
            public AllocationManager create(BufferAllocator accountingAllocator, long size)
            {
                if (size == failingSize) {
                    throw new OutOfMemoryError("simulated: Direct buffer memory");
                }
                return UnsafeAllocationManager.FACTORY.create(accountingAllocator, size);
            }

            @Override
            public ArrowBuf empty()
            {
                return UnsafeAllocationManager.FACTORY.empty();
            }
        };
        ArrowNodeMemory arrow = open(ArrowNodeMemory.builder(engine.node(0)).allocationManagerFactory(failing).build());
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        BufferAllocator allocator = arrow.operator(operator).newAllocator("build");

        // Arrow counts the bytes, the manager throws, Arrow gives them back: no listener hears of the failure
        assertThatThrownBy(() -> allocator.buffer(failingSize)).isInstanceOf(OutOfMemoryError.class);
        assertThat(allocator.getAllocatedMemory()).isZero();

        try (ArrowBuf next = allocator.buffer(KB)) {
            assertThat(operator.userMemory().bytes()).isEqualTo(KB);
        }
        assertThat(operator.userMemory().bytes()).isZero();
    }

    @Test
    @Timeout(60)
    void concurrentAllocationsOfOneOperatorStayExact()
            throws Exception
    {
        MemoryEngine engine = open(engine("1GB", "512MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");
        ArrowOperatorMemory memory = arrow.operator(operator);
        BufferAllocator shared = memory.newAllocator("shared");
        int threads = 4;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        toClose.add(executor::shutdownNow);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<ArrowBuf>>> results = new ArrayList<>();
        for (int thread = 0; thread < threads; thread++) {
            // half the threads share one allocator, the others have their own in the same context
            BufferAllocator allocator = thread % 2 == 0 ? shared : memory.newAllocator("own-" + thread);
            results.add(executor.submit(() -> {
                start.await();
                List<ArrowBuf> held = new ArrayList<>();
                ThreadLocalRandom random = ThreadLocalRandom.current();
                for (int i = 0; i < 5_000; i++) {
                    if (held.isEmpty() || (held.size() < 64 && random.nextBoolean())) {
                        held.add(allocator.buffer(1 + random.nextInt(256 * 1024)));
                    }
                    else {
                        held.remove(random.nextInt(held.size())).close();
                    }
                }
                return held;
            }));
        }
        start.countDown();
        List<ArrowBuf> held = new ArrayList<>();
        for (Future<List<ArrowBuf>> result : results) {
            held.addAll(result.get(50, TimeUnit.SECONDS));
        }

        assertThat(held).isNotEmpty();
        assertThat(operator.userMemory().bytes()).isEqualTo(memory.allocatedBytes()).isEqualTo(arrow.allocatedBytes());
        assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(arrow.allocatedBytes());
        held.forEach(ArrowBuf::close);
        assertThat(operator.userMemory().bytes()).isZero();
        assertThat(engine.node(0).pool().reservedBytes()).isZero();
    }

    @Test
    void anOperatorOfAnotherNodeIsRefused()
    {
        MemoryEngine engine = open(engine("64MB", "32MB", Map.of("cluster.node-count", "2")));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        QueryMemoryContext query = open(engine.node(1).createQuery(QueryId.of("q1"), QuerySession.of("alice")));
        OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");

        assertThatThrownBy(() -> arrow.operator(operator))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Operator q1.0 HashAggregation belongs to node " + engine.node(1).nodeId() + ", not to node "
                        + engine.node(0).nodeId() + " of this Arrow memory");
    }

    @Test
    void theSameOperatorGetsTheSameArrowMemory()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory arrow = open(ArrowNodeMemory.create(engine.node(0)));
        OperatorMemoryContext operator = operator(engine, "q1", "HashAggregation");

        ArrowOperatorMemory memory = arrow.operator(operator);
        assertThat(arrow.operator(operator)).isSameAs(memory);
        assertThat(arrow.operators()).containsExactly(memory);
    }

    @Test
    void badArgumentsAreRefusedNamingTheValue()
    {
        MemoryEngine engine = open(engine("64MB", "32MB"));
        ArrowNodeMemory.Builder builder = ArrowNodeMemory.builder(engine.node(0));
        assertThatThrownBy(() -> builder.maxWait(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxWait is negative: PT-1S; expected zero (fail at once) or a positive duration");
        assertThatThrownBy(() -> builder.limitBytes(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limitBytes must be positive: 0");
        ArrowNodeMemory arrow = open(builder.build());
        ArrowOperatorMemory memory = arrow.operator(operator(engine, "q1", "HashAggregation"));
        assertThatThrownBy(() -> memory.newAllocator("build", OperatorMemoryContext::userMemory, -5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxBytes must be positive: -5");
        assertThatThrownBy(() -> memory.newAllocator("build", operator -> null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("memory selector returned null");
        assertThat(memory.allocators()).isEmpty();
    }

    /** An operator of a new query on node 0, which the test closes. */
    private OperatorMemoryContext operator(MemoryEngine engine, String queryId, String tag)
    {
        return open(engine.node(0).createQuery(QueryId.of(queryId), QuerySession.of("alice"))).addTask("0").addOperator(tag);
    }

    private <T extends AutoCloseable> T open(T closeable)
    {
        toClose.add(closeable);
        return closeable;
    }
}
