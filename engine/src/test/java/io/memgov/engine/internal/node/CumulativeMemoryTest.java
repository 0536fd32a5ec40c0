package io.memgov.engine.internal.node;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Presto's cumulative user and total memory of a query on a node (TaskContext.getTaskStats, which the query's stats in
 * QueryStateMachine sum): each sample adds the period since the last one at the mean of the bytes at its two ends.
 */
final class CumulativeMemoryTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;
    private static final long SECOND = 1_000_000_000L;

    private static MemoryEngine engine()
    {
        return NodeMemoryScenariosTest.engine(Map.of("node.heap-size", "64MB", "memory.heap-headroom-per-node", "16MB", "query.max-memory-per-node", "32MB"));
    }

    @Test
    void eachSampleAddsThePeriodSinceTheLastAtTheMeanOfItsEnds()
    {
        try (MemoryEngine engine = engine()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            QueryContextState state = ((QueryContext) query).state();
            long created = state.cumulativeMemory().createNanos();
            OperatorMemoryContext join = query.addTask("0").addOperator("HashBuilder");
            join.userMemory().setBytes(MB);
            join.systemMemory().setBytes(512 * KB);
            // revocable memory is in neither figure, as in Presto
            join.revocableMemory().setBytes(8 * MB);

            // the first period starts at the query's creation, holding nothing: (0 + 1MB) / 2 * 2s
            QuerySnapshot first = state.snapshot(QueryState.RUNNING, null, created + 2 * SECOND);
            assertThat(first.cumulativeUserMemoryByteSeconds()).isCloseTo(MB, within(1e-6));
            assertThat(first.cumulativeTotalMemoryByteSeconds()).isCloseTo(1.5 * MB, within(1e-6));

            join.userMemory().setBytes(3 * MB);
            // + (1MB + 3MB) / 2 * 1s, and for the total + (1.5MB + 3.5MB) / 2 * 1s
            QuerySnapshot second = state.snapshot(QueryState.RUNNING, null, created + 3 * SECOND);
            assertThat(second.cumulativeUserMemoryByteSeconds()).isCloseTo(3 * MB, within(1e-6));
            assertThat(second.cumulativeTotalMemoryByteSeconds()).isCloseTo(4 * MB, within(1e-6));

            // a sample that read the clock before the last one adds no time
            state.snapshot(QueryState.RUNNING, null, created + SECOND);
            assertThat(query.cumulativeUserMemoryByteSeconds()).isCloseTo(3 * MB, within(1e-6));
            assertThat(query.cumulativeTotalMemoryByteSeconds()).isCloseTo(4 * MB, within(1e-6));
            Reference.reachabilityFence(join);
        }
    }

    @Test
    void closingTheQuerySamplesWhatItHeldBeforeReleasingIt()
    {
        try (MemoryEngine engine = engine()) {
            long before = System.nanoTime();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext sort = query.addTask("0").addOperator("OrderBy");
            sort.userMemory().setBytes(4 * MB);
            assertThat(query.cumulativeUserMemoryByteSeconds()).isZero();

            query.close(QueryState.FINISHED);
            double elapsedSeconds = (System.nanoTime() - before) / 1e9;

            // no snapshot was taken while it ran: only the sample at the close saw the 4MB (a sample after the release
            // would see nothing at either end of the period)
            assertThat(query.cumulativeUserMemoryByteSeconds()).isPositive().isLessThanOrEqualTo(2 * MB * elapsedSeconds);
            assertThat(query.cumulativeTotalMemoryByteSeconds()).isEqualTo(query.cumulativeUserMemoryByteSeconds());
            // the ended query's snapshot, which the cluster loop reads, carries the final figures
            QuerySnapshot ended = engine.node(0).snapshot().queries().get(0);
            assertThat(ended.state()).isEqualTo(QueryState.FINISHED);
            assertThat(ended.cumulativeUserMemoryByteSeconds()).isEqualTo(query.cumulativeUserMemoryByteSeconds());
        }
    }

    @Test
    @Timeout(30)
    void eachSampleReturnsItsUserAndTotalFiguresTakenTogether()
            throws Exception
    {
        // two threads sampling at once, as the snapshot's thread and a closing query may: whatever the interleaving, a
        // sample's figures come from one state, so total (user + system) is never below user
        CumulativeMemory memory = new CumulativeMemory(0);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int thread = 0; thread < 2; thread++) {
                long system = thread;
                results.add(threads.submit(() -> {
                    start.await();
                    boolean consistent = true;
                    for (int i = 1; i <= 20_000; i++) {
                        CumulativeMemory.ByteSeconds sample = memory.sample(i * 1_000L, i, i + system * i);
                        consistent &= sample.total() >= sample.user();
                    }
                    return consistent;
                }));
            }
            start.countDown();
            for (Future<Boolean> result : results) {
                assertThat(result.get(20, TimeUnit.SECONDS)).isTrue();
            }
            CumulativeMemory.ByteSeconds last = memory.sample(21_000_000L, 0, 0);
            assertThat(last.user()).isEqualTo(memory.userByteSeconds());
            assertThat(last.total()).isEqualTo(memory.totalByteSeconds()).isGreaterThanOrEqualTo(last.user());
        }
        finally {
            threads.shutdownNow();
        }
    }
}
