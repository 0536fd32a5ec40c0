package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The quantum's lock-free path, stopped between its read of the reservation and its write of the bytes while another
 * call changes the reservation: a close, a kill, or another thread's change. Whatever lands in between, the call
 * either fully applies or changes nothing, and the bytes never stay above the reservation. The stop is a wrapper
 * around the exact memory the decorator keeps its reservation in: its first read of the reservation on the stopped
 * thread waits on a latch after reading.
 */
@Timeout(30)
final class QuantumRaceTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;

    private final Gate gate = new Gate();
    private final MemoryPool pool = new FixedMemoryPool("general", 100 * MB);
    private final NodeMemoryManager node = new NodeMemoryManager(NodeId.of("node-race"), MemoryPoolLayout.of(pool), ExactMemoryTracker.root("node-race", 0),
            Clock.systemUTC(), 5 * MB, Long.MAX_VALUE, null, MB, exact -> new QuantizedLocalMemory(gate.watch(exact), QuantumSizes.fixed(MB)));
    // the adaptive quantum on a pool whose share caps no tier: 1MB under 16MB, 4MB under 64MB, 8MB above
    private final MemoryPool largePool = new FixedMemoryPool("general", 1024 * MB);
    private final NodeMemoryManager adaptiveNode = new NodeMemoryManager(NodeId.of("node-race-adaptive"), MemoryPoolLayout.of(largePool),
            ExactMemoryTracker.root("node-race-adaptive", 0), Clock.systemUTC(), 256 * MB, Long.MAX_VALUE, null, 8 * MB,
            exact -> new QuantizedLocalMemory(gate.watch(exact), QuantumSizes.adaptive(largePool.maxBytes())));

    @Test
    void aCloseBetweenTheHalvesLeavesNothingAndTheCallFails()
            throws Exception
    {
        QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
        LocalMemoryContext memory = operator.userMemory();
        memory.setBytes(4 * MB + 64 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(5 * MB);

        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(4 * MB));
        operator.close();
        gate.resume();

        assertThat(failureOf(call)).isInstanceOf(IllegalStateException.class).hasMessageContaining("is already closed");
        assertThat(memory.bytes()).isZero();
        assertThat(memory.reservedBytes()).isZero();
        assertThat(query.userBytes()).isZero();
        assertThat(pool.reservedBytes()).isZero();
        query.close();
    }

    @Test
    void aTrimBetweenTheHalvesIsRedoneAndTheBytesStayWithinTheReservation()
            throws Exception
    {
        // arbitration's reclaim shrinks the reservation to the bytes while a write that read the old one is in flight
        QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
        LocalMemoryContext memory = operator.userMemory();
        memory.setBytes(4 * MB + 64 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(5 * MB);

        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(4 * MB + 900 * KB));
        assertThat(node.trimReservations()).isEqualTo(5 * MB - (4 * MB + 64 * KB));
        assertThat(memory.reservedBytes()).isEqualTo(4 * MB + 64 * KB);
        gate.resume();

        assertThat(call.get(10, TimeUnit.SECONDS)).isDone();
        assertThat(memory.bytes()).isEqualTo(4 * MB + 900 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(5 * MB);
        assertThat(query.userBytes()).isEqualTo(5 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(5 * MB);
        query.close();
        assertThat(pool.reservedBytes()).isZero();
    }

    @Test
    void aKillBetweenTheHalvesLeavesNothingAndTheCallFails()
            throws Exception
    {
        QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
        LocalMemoryContext memory = operator.userMemory();
        memory.setBytes(4 * MB + 64 * KB);

        CompletableFuture<Boolean> call = gate.stopBetweenTheHalves(() -> memory.trySetBytes(4 * MB));
        query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test");
        gate.resume();

        assertThat(failureOf(call)).isInstanceOf(QueryKilledException.class).hasMessage("killed by the test");
        assertThat(memory.bytes()).isZero();
        assertThat(memory.reservedBytes()).isZero();
        assertThat(query.userBytes()).isZero();
        assertThat(pool.reservedBytes()).isZero();
        query.close();
    }

    @Test
    void aCallThatLosesTheRaceAndThenALimitLeavesTheOtherThreadsValue()
            throws Exception
    {
        QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
        LocalMemoryContext memory = operator.userMemory();
        memory.setBytes(4 * MB + 64 * KB);

        // stopped after reading the 5 MB reservation; meanwhile another thread shrinks it to 2 MB and a second operator
        // takes the rest of the query's 5 MB, so the stopped call, redone under the monitor, needs more than the limit
        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(4 * MB + 32 * KB));
        memory.setBytes(KB);
        assertThat(memory.reservedBytes()).isEqualTo(2 * MB);
        query.addTask("1").addOperator("OrderBy").userMemory().setBytes(3 * MB);
        gate.resume();

        assertThat(failureOf(call)).isInstanceOf(MemoryLimitExceededException.class);
        assertThat(memory.bytes()).as("the other thread's value, not the refused call's").isEqualTo(KB);
        assertThat(memory.reservedBytes()).isEqualTo(2 * MB);
        assertThat(query.userBytes()).isEqualTo(5 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(5 * MB);
        query.close();
        assertThat(pool.reservedBytes()).isZero();
    }

    @Test
    void aCallThatLosesTheRaceIsRedoneUnderTheMonitorAndApplies()
            throws Exception
    {
        QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
        memory.setBytes(4 * MB + 64 * KB);

        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(4 * MB + 32 * KB));
        memory.setBytes(KB);
        gate.resume();

        assertThat(call.get(10, TimeUnit.SECONDS).isDone()).isTrue();
        assertThat(memory.bytes()).isEqualTo(4 * MB + 32 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(5 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(5 * MB);
        query.close();
    }

    @Test
    void aCloseBetweenTheHalvesAtAnAdaptiveTierBoundaryLeavesNothingAndTheCallFails()
            throws Exception
    {
        QueryMemoryContext query = adaptiveNode.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
        LocalMemoryContext memory = operator.userMemory();
        memory.setBytes(15 * MB + 512 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(16 * MB);

        // 16MB fits the 16MB reservation under the 4MB quantum of its own tier: the lock-free path takes it
        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(16 * MB));
        operator.close();
        gate.resume();

        assertThat(failureOf(call)).isInstanceOf(IllegalStateException.class).hasMessageContaining("is already closed");
        assertThat(memory.bytes()).isZero();
        assertThat(memory.reservedBytes()).isZero();
        assertThat(largePool.reservedBytes()).isZero();
        query.close();
    }

    @Test
    void aKillBetweenTheHalvesInTheLargestAdaptiveTierLeavesNothingAndTheCallFails()
            throws Exception
    {
        QueryMemoryContext query = adaptiveNode.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").revocableMemory();
        memory.setBytes(65 * MB);
        assertThat(memory.reservedBytes()).isEqualTo(72 * MB);

        CompletableFuture<Boolean> call = gate.stopBetweenTheHalves(() -> memory.trySetBytes(66 * MB));
        query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test");
        gate.resume();

        assertThat(failureOf(call)).isInstanceOf(QueryKilledException.class).hasMessage("killed by the test");
        assertThat(memory.bytes()).isZero();
        assertThat(memory.reservedBytes()).isZero();
        assertThat(largePool.reservedRevocableBytes()).isZero();
        assertThat(largePool.reservedBytes()).isZero();
        query.close();
    }

    @Test
    void aCallThatLosesTheRaceToAGrowthIntoTheNextTierIsRedoneWithTheQuantumOfItsOwnBytes()
            throws Exception
    {
        QueryMemoryContext query = adaptiveNode.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
        memory.setBytes(15 * MB + 512 * KB);

        // stopped after reading the 16MB reservation; meanwhile another thread grows into the 4MB tier (20MB)
        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(15 * MB + 900 * KB));
        memory.setBytes(17 * MB);
        assertThat(memory.reservedBytes()).isEqualTo(20 * MB);
        gate.resume();

        // redone under the monitor: 15.9MB is in the 1MB tier, and 20MB is two of its quanta above, so it shrinks
        assertThat(call.get(10, TimeUnit.SECONDS).isDone()).isTrue();
        assertThat(memory.bytes()).isEqualTo(15 * MB + 900 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(17 * MB);
        assertThat(query.userBytes()).isEqualTo(17 * MB);
        assertThat(largePool.reservedBytes()).isEqualTo(17 * MB);
        query.close();
        assertThat(largePool.reservedBytes()).isZero();
    }

    @Test
    void aTrimBetweenTheHalvesInAnAdaptiveTierIsRedoneAndRoundsUpWithThatTiersQuantum()
            throws Exception
    {
        QueryMemoryContext query = adaptiveNode.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
        memory.setBytes(16 * MB + 512 * KB);
        assertThat(memory.reservedBytes()).isEqualTo(20 * MB);

        CompletableFuture<MemoryFuture> call = gate.stopBetweenTheHalves(() -> memory.setBytes(19 * MB));
        assertThat(adaptiveNode.trimReservations()).isEqualTo(20 * MB - (16 * MB + 512 * KB));
        gate.resume();

        assertThat(call.get(10, TimeUnit.SECONDS)).isDone();
        assertThat(memory.bytes()).isEqualTo(19 * MB);
        assertThat(memory.reservedBytes()).isEqualTo(20 * MB);
        assertThat(largePool.reservedBytes()).isEqualTo(20 * MB);
        query.close();
        assertThat(largePool.reservedBytes()).isZero();
    }

    private static Throwable failureOf(CompletableFuture<?> call)
            throws Exception
    {
        try {
            call.get(10, TimeUnit.SECONDS);
        }
        catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("the call succeeded: " + call.join());
    }

    /** Stops one thread's first read of a reservation, after the read, until the test resumes it. */
    private static final class Gate
    {
        private final CountDownLatch stopped = new CountDownLatch(1);
        private final CountDownLatch resumed = new CountDownLatch(1);
        private volatile Thread armed;

        LocalMemory watch(LocalMemory exact)
        {
            return new StoppingMemory(exact, this);
        }

        /** Starts {@code call} on a new thread and returns once it is stopped between the halves of the lock-free path. */
        <T> CompletableFuture<T> stopBetweenTheHalves(Supplier<T> call)
                throws InterruptedException
        {
            CompletableFuture<T> result = new CompletableFuture<>();
            Thread thread = new Thread(() -> {
                try {
                    result.complete(call.get());
                }
                catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            }, "stopped-call");
            armed = thread;
            thread.setDaemon(true);
            thread.start();
            assertThat(stopped.await(10, TimeUnit.SECONDS)).as("the call reached the lock-free path").isTrue();
            return result;
        }

        void resume()
        {
            resumed.countDown();
        }

        void readReservation()
        {
            if (Thread.currentThread() != armed) {
                return;
            }
            armed = null;
            stopped.countDown();
            try {
                assertThat(resumed.await(10, TimeUnit.SECONDS)).isTrue();
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** The exact memory, with a stop after reading its bytes (the decorator's reservation). */
    private record StoppingMemory(LocalMemory exact, Gate gate)
            implements LocalMemory
    {
        @Override
        public long bytes()
        {
            long reservation = exact.bytes();
            gate.readReservation();
            return reservation;
        }

        @Override
        public long reservedBytes()
        {
            return exact.reservedBytes();
        }

        @Override
        public MemoryFuture setBytes(long bytes)
        {
            return exact.setBytes(bytes);
        }

        @Override
        public boolean trySetBytes(long bytes)
        {
            return exact.trySetBytes(bytes);
        }

        @Override
        public long close()
        {
            return exact.close();
        }

        @Override
        public void forceRelease()
        {
            exact.forceRelease();
        }
    }
}
