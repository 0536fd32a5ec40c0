package io.memgov.engine.internal.node;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.memgov.engine.internal.node.NodeMemoryScenariosTest.engine;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code memory.reservation-quantum}: operators reserve in quanta (Velox) and changes inside a reservation stay local. */
class ReservationQuantumTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;

    private static MemoryEngine quantumEngine(String quantum)
    {
        return engine(Map.of(
                "node.heap-size", "200MB",
                "memory.heap-headroom-per-node", "100MB",
                "query.max-memory-per-node", "10MB",
                "memory.reservation-quantum", quantum));
    }

    @Test
    void aSmallAllocationReservesAWholeQuantumAndALargeOneIsRoundedUp()
    {
        // Velox scenario 12: a leaf allocating 1 KB reserves 1 MB and the root is charged 1 MB; freeing all drops it
        try (MemoryEngine engine = quantumEngine("1MB")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();

            memory.setBytes(KB);
            assertThat(memory.bytes()).isEqualTo(KB);
            assertThat(memory.reservedBytes()).isEqualTo(MB);
            assertThat(query.userBytes()).isEqualTo(MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(MB);
            assertThat(query.tracker().usedBytes()).isEqualTo(MB);

            memory.setBytes(5 * MB + 1);
            assertThat(memory.reservedBytes()).isEqualTo(6 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(6 * MB);

            memory.setBytes(0);
            assertThat(memory.reservedBytes()).isZero();
            assertThat(query.userBytes()).isZero();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(query.tracker().usedBytes()).isZero();
        }
    }

    @Test
    void changesInsideTheReservationReachNothingAboveAndADecreaseKeepsOneQuantum()
    {
        try (MemoryEngine engine = quantumEngine("1MB")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();

            memory.setBytes(4 * MB + 64 * KB);
            assertThat(memory.reservedBytes()).isEqualTo(5 * MB);
            // oscillating around a quantum boundary does not churn the pool
            for (int i = 0; i < 100; i++) {
                memory.setBytes(i % 2 == 0 ? 4 * MB : 4 * MB + 64 * KB);
                assertThat(node.pool().reservedBytes()).isEqualTo(5 * MB);
            }
            assertThat(memory.bytes()).isEqualTo(4 * MB + 64 * KB);

            // two quanta below the reservation it shrinks, keeping one quantum above the bytes' own
            memory.setBytes(2 * MB + 512 * KB);
            assertThat(memory.reservedBytes()).isEqualTo(4 * MB);
            assertThat(query.userBytes()).isEqualTo(4 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(4 * MB);
            query.close();
            assertThat(node.pool().reservedBytes()).isZero();
        }
    }

    @Test
    void limitsSeeTheReservationAndARefusedGrowthChangesNothing()
    {
        try (MemoryEngine engine = quantumEngine("1MB")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
            memory.setBytes(9 * MB + 512 * KB);
            assertThat(memory.reservedBytes()).isEqualTo(10 * MB);

            // 10 MB + 1 B needs an 11 MB reservation, over the 10 MB per-node limit
            assertThatThrownBy(() -> memory.setBytes(10 * MB + 1))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT));
            assertThat(memory.trySetBytes(10 * MB + 1)).isFalse();
            assertThat(memory.bytes()).isEqualTo(9 * MB + 512 * KB);
            assertThat(memory.reservedBytes()).isEqualTo(10 * MB);
            assertThat(query.userBytes()).isEqualTo(10 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(10 * MB);

            // up to the reservation itself is fine, without touching the query
            assertThat(memory.trySetBytes(10 * MB)).isTrue();
            assertThat(memory.bytes()).isEqualTo(10 * MB);
            query.close();
        }
    }

    @Test
    void aKilledQueryFailsEvenInsideTheReservationAndReleasesIt()
    {
        try (MemoryEngine engine = quantumEngine("1MB")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
            operator.userMemory().setBytes(100 * KB);
            operator.revocableMemory().setBytes(200 * KB);
            assertThat(node.pool().reservedBytes() + node.pool().reservedRevocableBytes()).isEqualTo(2 * MB);

            query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test");
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(node.pool().reservedRevocableBytes()).isZero();
            assertThat(operator.userMemory().reservedBytes()).isZero();
            assertThatThrownBy(() -> operator.userMemory().setBytes(200 * KB)).isInstanceOf(QueryKilledException.class);
            assertThatThrownBy(() -> operator.userMemory().trySetBytes(50 * KB)).isInstanceOf(QueryKilledException.class);
            operator.close();
            assertThatThrownBy(() -> operator.userMemory().setBytes(KB)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void aLockFreeChangeThatRacedWithAReservationChangeIsRedoneUnderTheMonitor()
    {
        try (MemoryEngine engine = quantumEngine("1MB")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
            QuantizedLocalMemory local = (QuantizedLocalMemory) ((OperatorContext) operator).state().user;
            operator.userMemory().setBytes(4 * MB + 64 * KB);

            // a lock-free change read the 5 MB reservation, then another thread shrank it before the change wrote
            long seen = local.reservedBytes();
            operator.userMemory().setBytes(KB);
            assertThat(local.reservedBytes()).isEqualTo(2 * MB);
            assertThat(local.commitWithin(seen, 4 * MB + 32 * KB)).as("the change must notice and be redone").isNotEqualTo(QuantizedLocalMemory.APPLIED);

            // redone under the monitor, as setBytes does after a false commit
            operator.userMemory().setBytes(4 * MB + 32 * KB);
            assertThat(local.reservedBytes()).isEqualTo(5 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(5 * MB);
            query.close();
        }
    }

    @Test
    void withoutAQuantumBytesAndReservationAreAlwaysEqual()
    {
        try (MemoryEngine engine = quantumEngine("0B")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
            memory.setBytes(KB);
            assertThat(memory.reservedBytes()).isEqualTo(KB);
            assertThat(node.pool().reservedBytes()).isEqualTo(KB);
            memory.setBytes(KB - 1);
            assertThat(node.pool().reservedBytes()).isEqualTo(KB - 1);
            query.close();
        }
    }

    @Test
    void concurrentChangesKeepEveryCounterEqualToTheSumOfTheReservations()
            throws Exception
    {
        // eight threads on their own operators, two more sharing one, and a closer of a third query's operators racing
        // them: in the end the pool holds exactly what the live contexts reserved, and nothing once they are closed
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "2GB",
                "node.heap-governed", "false",
                "memory.heap-headroom-per-node", "1GB",
                "query.max-memory-per-node", "1GB",
                "memory.reservation-quantum", "64kB"))) {
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();
            QueryMemoryContext first = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            QueryMemoryContext second = node.createQuery(QueryId.of("q2"), QuerySession.of("bob"));
            List<LocalMemoryContext> contexts = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                contexts.add((i % 2 == 0 ? first : second).addTask("t" + i).addOperator("op").userMemory());
            }
            LocalMemoryContext shared = first.addTask("shared").addOperator("op").systemMemory();
            CountDownLatch start = new CountDownLatch(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong violations = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                LocalMemoryContext memory = i < 8 ? contexts.get(i) : shared;
                long seed = i;
                threads.add(new Thread(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    awaitQuietly(start);
                    while (!stop.get()) {
                        memory.setBytes(random.nextLong(0, 600 * KB));
                        if (memory.bytes() > memory.reservedBytes() && memory != shared) {
                            violations.incrementAndGet();
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            start.countDown();
            // not a wait for an event: how long the threads race
            Thread.sleep(700);
            stop.set(true);
            for (Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(10));
                assertThat(thread.isAlive()).isFalse();
            }

            assertThat(violations.get()).as("a thread saw its own bytes above its reservation").isZero();
            assertThat(shared.bytes()).isLessThanOrEqualTo(shared.reservedBytes());
            long reserved = shared.reservedBytes();
            for (LocalMemoryContext memory : contexts) {
                assertThat(memory.reservedBytes() % (64 * KB)).isZero();
                reserved += memory.reservedBytes();
            }
            assertThat(pool.reservedBytes()).isEqualTo(reserved);
            assertThat(first.userBytes() + first.systemBytes() + second.userBytes() + second.systemBytes()).isEqualTo(reserved);
            first.close();
            second.close();
            assertThat(pool.reservedBytes()).isZero();
            assertThat(node.rootTracker().usedBytes()).isZero();
        }
    }

    @Test
    void aBadQuantumNamesTheKeyTheValueAndWhatIsAccepted()
    {
        assertThatThrownBy(() -> quantumEngine("2GB"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("memory.reservation-quantum")
                .hasMessageContaining("2GB")
                .hasMessageContaining("up to 1GB");
        assertThatThrownBy(() -> quantumEngine("a lot"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("memory.reservation-quantum")
                .hasMessageContaining("a lot");
    }

    private static void awaitQuietly(CountDownLatch latch)
    {
        try {
            latch.await();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
