package io.memgov.engine.internal.node;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

    // a 1GB pool, outside the test JVM's heap
    private static MemoryEngine largePoolEngine(String quantum)
    {
        return engine(Map.of(
                "node.heap-size", "2GB",
                "node.heap-governed", "false",
                "memory.heap-headroom-per-node", "1GB",
                "query.max-memory-per-node", "1GB",
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

    @ParameterizedTest
    @CsvSource({
            // a fixed quantum, values over ten quanta
            "64kB, 614400",
            // adaptive, values across the 16MB tier boundary (1MB and 4MB quanta)
            "adaptive, 41943040"})
    void concurrentChangesKeepEveryCounterEqualToTheSumOfTheReservations(String quantum, long maxBytes)
            throws Exception
    {
        // eight threads on their own operators, two more sharing one, and a closer of a third query's operators racing
        // them: in the end the pool holds exactly what the live contexts reserved, and nothing once they are closed
        try (MemoryEngine engine = largePoolEngine(quantum)) {
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
                        memory.setBytes(random.nextLong(0, maxBytes));
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
    void adaptiveQuantaGrowWithTheBytesAcrossVeloxTiers()
    {
        // a 1GB pool's share (16MB) caps no tier: 1MB under 16MB, 4MB under 64MB, 8MB above, as Velox rounds
        try (MemoryEngine engine = largePoolEngine("adaptive")) {
            NodeMemory node = engine.node(0);
            assertThat(node.reservationQuantum()).isEqualTo(8 * MB);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();

            // bytes set, then the reservation the pool must hold
            long[][] steps = {
                    {KB, MB},
                    {15 * MB + 1, 16 * MB},
                    // over 16MB the quantum is 4MB
                    {16 * MB + 1, 20 * MB},
                    {63 * MB + 1, 64 * MB},
                    // over 64MB it is 8MB
                    {64 * MB + 1, 72 * MB},
                    {100 * MB, 104 * MB},
                    // a decrease keeps the reservation while it is within two 8MB quanta of the bytes
                    {89 * MB, 104 * MB},
                    {88 * MB, 96 * MB},
                    // back under 64MB the 4MB quantum decides, under 16MB the 1MB one
                    {60 * MB, 64 * MB},
                    {15 * MB, 16 * MB},
                    {16 * MB + 64 * KB, 20 * MB},
                    {16 * MB - 64 * KB, 17 * MB},
                    // oscillating across the 16MB tier boundary then stays inside the 17MB reservation
                    {16 * MB + 64 * KB, 17 * MB},
                    {16 * MB - 64 * KB, 17 * MB},
                    {16 * MB + 64 * KB, 17 * MB},
                    {0, 0},
            };
            for (long[] step : steps) {
                memory.setBytes(step[0]);
                assertThat(memory.bytes()).isEqualTo(step[0]);
                assertThat(memory.reservedBytes()).as("reservation for %s bytes", step[0]).isEqualTo(step[1]);
                assertThat(query.userBytes()).isEqualTo(step[1]);
                assertThat(node.pool().reservedBytes()).isEqualTo(step[1]);
            }
            query.close();
            assertThat(node.pool().reservedBytes()).isZero();
        }
    }

    @Test
    void theDefaultIsAdaptiveAndCappedByTheNodesShareOfItsPool()
    {
        // a 16MB pool: quanta of at most 16MB / 64 = 256kB, so that twenty operators holding 1kB each take 5MB of
        // the pool, where Velox's 1MB would take 20MB and starve it
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().properties(Map.of(
                "node.heap-size", "32MB",
                "memory.heap-headroom-per-node", "16MB",
                "query.max-memory-per-node", "16MB")).build()) {
            NodeMemory node = engine.node(0);
            assertThat(node.reservationQuantum()).isEqualTo(256 * KB);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            List<LocalMemoryContext> operators = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                LocalMemoryContext memory = task.addOperator("op" + i).userMemory();
                memory.setBytes(KB);
                assertThat(memory.reservedBytes()).isEqualTo(256 * KB);
                operators.add(memory);
            }
            assertThat(node.pool().reservedBytes()).isEqualTo(20 * 256 * KB);
            operators.get(0).setBytes(5 * MB + 1);
            assertThat(operators.get(0).reservedBytes()).isEqualTo(5 * MB + 256 * KB);
            query.close();
            assertThat(node.pool().reservedBytes()).isZero();
        }
        // a 12MB pool's share, 192kB, rounds down to a power of two
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "24MB",
                "memory.heap-headroom-per-node", "12MB",
                "memory.reservation-quantum", "adaptive"))) {
            assertThat(engine.node(0).reservationQuantum()).isEqualTo(128 * KB);
        }
        // a 2MB pool's share, 32kB, is under the 64kB floor
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "4MB",
                "memory.heap-headroom-per-node", "2MB",
                "query.max-memory-per-node", "2MB",
                "memory.reservation-quantum", "adaptive"))) {
            NodeMemory node = engine.node(0);
            assertThat(node.reservationQuantum()).isEqualTo(64 * KB);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
            memory.setBytes(100 * KB);
            assertThat(memory.reservedBytes()).isEqualTo(128 * KB);
            query.close();
        }
        // on a 512kB pool the floor is a sixteenth of the pool: a 64kB quantum would take an eighth of it per context
        try (MemoryEngine engine = engine(Map.of(
                "node.heap-size", "1MB",
                "memory.heap-headroom-per-node", "512kB",
                "query.max-memory-per-node", "512kB",
                "memory.reservation-quantum", "adaptive"))) {
            NodeMemory node = engine.node(0);
            assertThat(node.reservationQuantum()).isEqualTo(32 * KB);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            LocalMemoryContext memory = query.addTask("0").addOperator("HashAggregation").userMemory();
            memory.setBytes(KB);
            assertThat(memory.reservedBytes()).isEqualTo(32 * KB);
            query.close();
        }
    }

    @Test
    void anAdaptiveQuantumCrossingATierLeavesNothingWhenTheQueryIsKilledOrTheOperatorClosed()
    {
        try (MemoryEngine engine = largePoolEngine("adaptive")) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
            operator.userMemory().setBytes(15 * MB + 512 * KB);
            operator.revocableMemory().setBytes(70 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(16 * MB);
            assertThat(node.pool().reservedRevocableBytes()).isEqualTo(72 * MB);

            // growing across the 16MB tier while the query is killed: the call fails and nothing stays reserved
            query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test");
            assertThatThrownBy(() -> operator.userMemory().setBytes(17 * MB)).isInstanceOf(QueryKilledException.class);
            assertThatThrownBy(() -> operator.userMemory().trySetBytes(15 * MB + KB)).isInstanceOf(QueryKilledException.class);
            assertThat(operator.userMemory().reservedBytes()).isZero();
            assertThat(operator.revocableMemory().reservedBytes()).isZero();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(node.pool().reservedRevocableBytes()).isZero();
            query.close();

            QueryMemoryContext second = node.createQuery(QueryId.of("q2"), QuerySession.of("alice"));
            OperatorMemoryContext closed = second.addTask("0").addOperator("OrderBy");
            closed.userMemory().setBytes(63 * MB);
            closed.userMemory().setBytes(65 * MB);
            assertThat(node.pool().reservedBytes()).isEqualTo(72 * MB);
            closed.close();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThatThrownBy(() -> closed.userMemory().setBytes(KB)).isInstanceOf(IllegalStateException.class);
            assertThat(node.pool().reservedBytes()).isZero();
            second.close();
        }
    }

    @Test
    void aBadQuantumNamesTheKeyTheValueAndWhatIsAccepted()
    {
        assertThatThrownBy(() -> quantumEngine("2GB"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("memory.reservation-quantum")
                .hasMessageContaining("2GB")
                .hasMessageContaining("adaptive")
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
