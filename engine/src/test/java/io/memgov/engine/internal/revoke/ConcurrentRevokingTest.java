package io.memgov.engine.internal.revoke;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine's revoking scheduler under real operator threads that reserve and free revocable memory at random and
 * spill when asked, on their own threads, as a real operator does.
 */
final class ConcurrentRevokingTest
{
    private static final int OPERATORS = 6;
    private static final int ITERATIONS = 3_000;

    @Test
    void keepsEveryOperatorMovingAndNeverAsksAConsumerTwiceAtOnce()
            throws Exception
    {
        try (MemoryEngine engine = RevokeTesting.engine(Map.of(
                "node.heap-size", "64MB",
                "memory.pool.fixed.max-size", "1000000",
                "query.max-memory-per-node", "1000000"))) {
            ExecutorService threads = Executors.newFixedThreadPool(OPERATORS);
            CountDownLatch start = new CountDownLatch(1);
            List<SpillingWorker> workers = new ArrayList<>();
            List<Future<?>> running = new ArrayList<>();
            for (int i = 0; i < OPERATORS; i++) {
                QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q" + i), QuerySession.of("user" + i));
                SpillingWorker worker = new SpillingWorker(query.addTask("0").addOperator("HashAggregation"), start);
                workers.add(worker);
                running.add(threads.submit(worker));
            }
            start.countDown();
            for (Future<?> future : running) {
                // a lost wake-up or a deadlock shows up here
                future.get(60, TimeUnit.SECONDS);
            }
            threads.shutdown();

            int spills = workers.stream().mapToInt(worker -> worker.spills.get()).sum();
            assertThat(spills).as("spills").isPositive();
            for (SpillingWorker worker : workers) {
                assertThat(worker.overlapping.get()).as("revokes started while one was in flight").isZero();
                // the scheduler may have asked once more after the worker's last look; closing cancels that revoke
                CompletableFuture<Void> last = worker.pending.get();
                assertThat(worker.finishes.get()).as("finishes").isEqualTo(worker.starts.get() - (last == null ? 0 : 1));
                worker.operator.close();
                if (last != null) {
                    assertThat(last).isCancelled();
                }
            }
            assertThat(engine.revokingScheduler(engine.node(0).nodeId()).orElseThrow().revokesRequested()).isGreaterThanOrEqualTo(spills);
            assertThat(engine.node(0).pool().reservedRevocableBytes()).isZero();
            assertThat(engine.node(0).pool().freeBytes()).isEqualTo(engine.node(0).pool().maxBytes());
        }
    }

    private static final class SpillingWorker
            implements Runnable, RevocableConsumer
    {
        final OperatorMemoryContext operator;
        private final CountDownLatch start;
        final AtomicInteger starts = new AtomicInteger();
        final AtomicInteger finishes = new AtomicInteger();
        final AtomicInteger spills = new AtomicInteger();
        final AtomicInteger overlapping = new AtomicInteger();
        private final AtomicReference<CompletableFuture<Void>> pending = new AtomicReference<>();

        SpillingWorker(OperatorMemoryContext operator, CountDownLatch start)
        {
            this.operator = operator;
            this.start = start;
            operator.setRevocableConsumer(this);
        }

        @Override
        public CompletableFuture<?> startMemoryRevoke()
        {
            starts.incrementAndGet();
            CompletableFuture<Void> future = new CompletableFuture<>();
            if (!pending.compareAndSet(null, future)) {
                overlapping.incrementAndGet();
            }
            return future;
        }

        @Override
        public void finishMemoryRevoke()
        {
            finishes.incrementAndGet();
        }

        @Override
        public void run()
        {
            try {
                start.await();
                ThreadLocalRandom random = ThreadLocalRandom.current();
                for (int i = 0; i < ITERATIONS; i++) {
                    spillIfAsked();
                    // rarely freeing, each operator soon holds more than the whole pool (1 MB): only revokes let it go on
                    MemoryFuture blocked = random.nextInt(100) == 0
                            ? operator.revocableMemory().setBytes(operator.revocableMemory().bytes() / 2)
                            : operator.revocableMemory().addBytes(random.nextInt(1, 20_000));
                    // a blocked operator waits for the pool, or spills as soon as it is asked
                    while (!blocked.isDone()) {
                        if (spillIfAsked()) {
                            break;
                        }
                        try {
                            blocked.get(1, TimeUnit.MILLISECONDS);
                        }
                        catch (java.util.concurrent.TimeoutException e) {
                            // not yet: look for a revoke request again
                        }
                    }
                }
                spillIfAsked();
                // finished: the operator hands its output on and holds nothing; a revoke asked from now on finds 0 bytes
                operator.revocableMemory().setBytes(0);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        private boolean spillIfAsked()
        {
            CompletableFuture<Void> future = pending.get();
            if (future == null) {
                return false;
            }
            // the spill: give back every revocable byte, then report the revoke done
            operator.revocableMemory().setBytes(0);
            spills.incrementAndGet();
            pending.set(null);
            future.complete(null);
            return true;
        }
    }
}
