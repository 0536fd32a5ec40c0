package io.memgov.engine.node;

import io.memgov.engine.MemoryEngine;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.QueryId;
import io.memgov.spi.TaskId;
import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.spill.RevocableConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Contexts the host lets become unreachable without {@code close()} are released by the cleaner, logged and reported
 * to the node's leak detector; closed or still referenced contexts are not. Every test runs real garbage collections.
 * Contexts to be forgotten are made in separate methods, so that no local variable of the test keeps them.
 */
final class ContextCollectionTest
{
    private static final long MB = 1024 * 1024;
    private static final Duration GC_TIMEOUT = Duration.ofSeconds(10);
    private static final java.util.concurrent.atomic.AtomicInteger QUERIES = new java.util.concurrent.atomic.AtomicInteger();

    private final RecordingDetector detector = new RecordingDetector();
    // strong references: java.util.logging keeps loggers only weakly, and a collected logger loses its handler
    private final Logger operatorLogger = Logger.getLogger(OperatorMemoryContext.class.getName());
    private final Logger taskLogger = Logger.getLogger(TaskMemoryContext.class.getName());
    private final List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Handler capture = new Handler()
    {
        @Override
        public void publish(LogRecord record)
        {
            // other tests' engines forget contexts too: keep only this test's query
            if (record.getLevel().intValue() >= Level.WARNING.intValue() && record.getMessage().contains(" of query " + queryId + " ")) {
                warnings.add(record.getMessage());
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final QueryId queryId = QueryId.of("collected" + QUERIES.incrementAndGet());
    private final String q = queryId.toString();
    private MemoryEngine engine;
    private MemoryPool pool;

    @BeforeEach
    void setUp()
    {
        operatorLogger.addHandler(capture);
        taskLogger.addHandler(capture);
        engine = MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .plugin(detector.plugin())
                .properties(Map.of("node.heap-size", "100MB", "memory.leak-detector.policy", RecordingDetector.NAME))
                .build();
        pool = engine.node(0).pool();
    }

    @AfterEach
    void tearDown()
    {
        engine.close();
        operatorLogger.removeHandler(capture);
        taskLogger.removeHandler(capture);
    }

    @Test
    void aForgottenOperatorIsReleasedLoggedAndReported()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("3");
        forgetOperator(task, "HashAggregation", 4 * MB, MB, 2 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(5 * MB);

        collectUntil(() -> detector.reports.size() == 1);

        assertThat(detector.reports).containsExactly(new Report(queryId, TaskId.of(queryId, "3"), "HashAggregation", 7 * MB));
        assertThat(warnings).containsExactly(
                "Operator context " + q + ".3 HashAggregation of query " + q + " on node node-0 was garbage-collected without close(); released 7MB");
        assertReleased(query, task);
        assertThat(task.operators()).isEmpty();
        assertThat(task.isClosed()).isFalse();
        // the task goes on: a new operator reserves and closes normally
        try (OperatorMemoryContext next = task.addOperator("Exchange")) {
            next.userMemory().setBytes(MB);
            assertThat(query.userBytes()).isEqualTo(MB);
        }
        assertReleased(query, task);
        query.close();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    @Test
    void aForgottenTaskIsReleasedWithItsOperatorsAndEveryByteIsReportedOnce()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        forgetTask(query, "0");
        assertThat(query.userBytes()).isEqualTo(3 * MB);
        assertThat(query.revocableBytes()).isEqualTo(MB);

        // the task's action reports the task and the operators it closed; an operator whose own action ran first
        // reported itself: either way each byte once, and the task once
        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.tag() == null)
                && detector.reports.stream().mapToLong(Report::bytes).sum() == 4 * MB);

        assertThat(detector.reports).filteredOn(report -> report.tag() == null).hasSize(1);
        assertThat(detector.reports).allSatisfy(report -> assertThat(report.taskId()).isEqualTo(TaskId.of(queryId, "0")));
        assertThat(warnings).anySatisfy(line -> assertThat(line)
                .startsWith("Task context " + q + ".0 of query " + q + " on node node-0 was garbage-collected without close(); released "));
        assertThat(query.tasks()).isEmpty();
        assertThat(query.userBytes()).isZero();
        assertThat(query.systemBytes()).isZero();
        assertThat(query.revocableBytes()).isZero();
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        query.close();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    @Test
    void closedContextsThatAreCollectedAreNotReported()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        // one operator closed itself, and one task closed with its operators, every handle then dropped
        List<WeakReference<Object>> closed = new ArrayList<>();
        closed.add(closeOperator(task, "Closed"));
        closed.addAll(closeTask(query, "1"));
        assertThat(query.userBytes()).isZero();

        forgetOperator(task, "Sentinel", MB, 0, 0);
        collectUntil(() -> closed.stream().allMatch(reference -> reference.get() == null)
                && detector.reports.size() == 1);
        // the cleaner thread may still be running the closed contexts' actions; let it finish, then look again
        settle();

        assertThat(detector.reports).extracting(Report::tag).containsExactly("Sentinel");
        assertThat(warnings).hasSize(1).allSatisfy(line -> assertThat(line).contains("Sentinel"));
        assertReleased(query, task);
        query.close();
    }

    @Test
    void referencedContextsAreNotReleasedWhenOthersAreCollected()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        OperatorMemoryContext kept = task.addOperator("Kept");
        kept.userMemory().setBytes(3 * MB);
        // a consumer that references its operator, as a host's operator does
        kept.setRevocableConsumer(new HostOperator(kept));
        // only one kind's context kept: it keeps its operator
        LocalMemoryContext keptLocal = operatorKeptByItsLocal(task);
        // only an operator kept: it keeps its task, whose handle the test dropped
        OperatorMemoryContext keptWithoutTask = operatorOfForgottenTask(query);
        forgetOperator(task, "Forgotten", 5 * MB, 0, 0);

        collectUntil(() -> detector.reports.size() == 1);
        settle();

        assertThat(detector.reports).extracting(Report::tag).containsExactly("Forgotten");
        assertThat(kept.userMemory().bytes()).isEqualTo(3 * MB);
        assertThat(keptLocal.bytes()).isEqualTo(2 * MB);
        assertThat(keptWithoutTask.userMemory().bytes()).isEqualTo(MB);
        assertThat(task.userBytes()).isEqualTo(5 * MB);
        assertThat(query.userBytes()).isEqualTo(6 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(6 * MB);
        assertThat(task.operators()).hasSize(2).contains(kept);
        assertThat(query.tasks()).hasSize(2).contains(keptWithoutTask.task());

        // all of them still work, and close normally without a report
        kept.userMemory().setBytes(4 * MB);
        keptLocal.setBytes(0);
        keptWithoutTask.userMemory().setBytes(2 * MB);
        assertThat(query.userBytes()).isEqualTo(6 * MB);
        keptWithoutTask.task().close();
        kept.close();
        keptLocal.close();
        query.close();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
        assertThat(detector.reports).hasSize(1);
    }

    @Test
    void aForgottenOperatorWithAConsumerIsCollected()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        // the engine holds the consumer only through the handle, so the cycle operator <-> consumer goes away
        forgetOperatorWithConsumer(task);

        collectUntil(() -> detector.reports.size() == 1);

        assertThat(detector.reports).containsExactly(new Report(queryId, TaskId.of(queryId, "0"), "Spilling", 2 * MB));
        assertReleased(query, task);
        query.close();
    }

    @Test
    void aRevokeInFlightKeepsItsOperatorUntilTheRevocationIsDropped()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        CompletableFuture<Void> spill = new CompletableFuture<>();
        // the scheduler's view: it holds the revocation and listens to it; the host dropped the operator
        MemoryRevocation[] revocation = {requestRevokeOfForgottenOperator(task, spill)};
        CompletableFuture<Void> done = revocation[0].done();

        forgetOperator(task, "Sentinel", MB, 0, 0);
        collectUntil(() -> detector.reports.size() == 1);
        settle();
        assertThat(detector.reports).extracting(Report::tag).containsExactly("Sentinel");
        assertThat(task.revocableBytes()).isEqualTo(2 * MB);

        // the host's spill finishes: the operator drops its revocable bytes and the revoke completes
        revocation[0].operator().revocableMemory().setBytes(0);
        spill.complete(null);
        assertThat(done).isCompleted();
        assertThat(done.isCompletedExceptionally()).isFalse();

        // the scheduler lets go: now the operator is collected, with what it still holds
        revocation[0] = null;
        collectUntil(() -> detector.reports.size() == 2);
        assertThat(detector.reports).extracting(Report::tag).containsExactly("Sentinel", "Spilling");
        assertThat(detector.reports).extracting(Report::bytes).containsExactly(MB, MB);
        assertReleased(query, task);
        query.close();
    }

    @Test
    void aForgottenOperatorWithAPendingRevokeIsCollectedAndTheRevokeCancelled()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        // Trino's polling operator, asked through requestMemoryRevoking(): nothing but the state holds the request
        forgetOperatorAskedToRevoke(task);

        collectUntil(() -> detector.reports.size() == 1);

        assertThat(detector.reports).extracting(Report::bytes).containsExactly(3 * MB);
        assertReleased(query, task);
        assertThat(query.failure()).isEmpty();
        query.close();
    }

    private static void forgetOperator(TaskMemoryContext task, String tag, long user, long system, long revocable)
    {
        OperatorMemoryContext operator = task.addOperator(tag);
        operator.userMemory().setBytes(user);
        operator.systemMemory().setBytes(system);
        operator.revocableMemory().setBytes(revocable);
    }

    private static void forgetTask(QueryMemoryContext query, String localId)
    {
        TaskMemoryContext task = query.addTask(localId);
        forgetOperator(task, "HashAggregation", 2 * MB, 0, MB);
        forgetOperator(task, "Exchange", MB, 0, 0);
    }

    private static WeakReference<Object> closeOperator(TaskMemoryContext task, String tag)
    {
        OperatorMemoryContext operator = task.addOperator(tag);
        operator.userMemory().setBytes(MB);
        operator.close();
        return new WeakReference<>(operator);
    }

    private static List<WeakReference<Object>> closeTask(QueryMemoryContext query, String localId)
    {
        TaskMemoryContext task = query.addTask(localId);
        OperatorMemoryContext first = task.addOperator("ClosedWithTask");
        first.userMemory().setBytes(MB);
        OperatorMemoryContext second = task.addOperator("ClosedWithTask");
        second.revocableMemory().setBytes(MB);
        task.close();
        return List.of(new WeakReference<>(task), new WeakReference<>(first), new WeakReference<>(second));
    }

    private static LocalMemoryContext operatorKeptByItsLocal(TaskMemoryContext task)
    {
        OperatorMemoryContext operator = task.addOperator("KeptByLocal");
        operator.userMemory().setBytes(2 * MB);
        return operator.userMemory();
    }

    private static OperatorMemoryContext operatorOfForgottenTask(QueryMemoryContext query)
    {
        OperatorMemoryContext operator = query.addTask("1").addOperator("KeptWithoutTask");
        operator.userMemory().setBytes(MB);
        return operator;
    }

    private static void forgetOperatorWithConsumer(TaskMemoryContext task)
    {
        OperatorMemoryContext operator = task.addOperator("Spilling");
        operator.revocableMemory().setBytes(2 * MB);
        operator.setRevocableConsumer(new HostOperator(operator));
    }

    private static MemoryRevocation requestRevokeOfForgottenOperator(TaskMemoryContext task, CompletableFuture<Void> spill)
    {
        OperatorMemoryContext operator = task.addOperator("Spilling");
        operator.userMemory().setBytes(MB);
        operator.revocableMemory().setBytes(2 * MB);
        operator.setRevocableConsumer(new HostOperator(operator, spill));
        return operator.requestRevocation().orElseThrow();
    }

    private static void forgetOperatorAskedToRevoke(TaskMemoryContext task)
    {
        OperatorMemoryContext operator = task.addOperator("Polling");
        operator.revocableMemory().setBytes(3 * MB);
        assertThat(operator.requestMemoryRevoking()).isEqualTo(3 * MB);
        assertThat(operator.isMemoryRevokingRequested()).isTrue();
    }

    private void assertReleased(QueryMemoryContext query, TaskMemoryContext task)
    {
        assertThat(task.userBytes()).isZero();
        assertThat(task.systemBytes()).isZero();
        assertThat(task.revocableBytes()).isZero();
        assertThat(query.userBytes()).isZero();
        assertThat(query.systemBytes()).isZero();
        assertThat(query.revocableBytes()).isZero();
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    private static void collectUntil(BooleanSupplier condition)
    {
        await().atMost(GC_TIMEOUT).pollInterval(Duration.ofMillis(20)).until(() -> {
            System.gc();
            return condition.getAsBoolean();
        });
    }

    private static void settle()
    {
        // a few more collections and a pause: a context wrongly released would be reported by now
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    /** A host's operator: it holds its memory context and is its revocable consumer. */
    private static final class HostOperator
            implements RevocableConsumer
    {
        private final OperatorMemoryContext context;
        private final CompletableFuture<Void> spill;

        HostOperator(OperatorMemoryContext context)
        {
            this(context, new CompletableFuture<>());
        }

        HostOperator(OperatorMemoryContext context, CompletableFuture<Void> spill)
        {
            this.context = context;
            this.spill = spill;
        }

        @Override
        public CompletableFuture<?> startMemoryRevoke()
        {
            return spill;
        }

        @Override
        public void finishMemoryRevoke() {}

        @Override
        public String toString()
        {
            return "HostOperator{" + context.tag() + "}";
        }
    }

    record Report(QueryId queryId, TaskId taskId, String tag, long bytes) {}

    private static final class RecordingDetector
            implements MemoryLeakDetector
    {
        static final String NAME = "recording";

        final ConcurrentLinkedQueue<Report> reports = new ConcurrentLinkedQueue<>();

        MemoryPlugin plugin()
        {
            MemoryLeakDetector self = this;
            return new MemoryPlugin()
            {
                @Override
                public List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
                {
                    return List.of(new MemoryLeakDetectorFactory()
                    {
                        @Override
                        public String name()
                        {
                            return NAME;
                        }

                        @Override
                        public MemoryLeakDetector create(Map<String, String> config, MemoryLeakDetectorContext context)
                        {
                            return self;
                        }
                    });
                }
            };
        }

        @Override
        public Set<QueryId> checkForLeaks(Map<QueryId, KnownQuery> knownQueries, Map<QueryId, Long> queryReservations)
        {
            return Set.of();
        }

        @Override
        public boolean wasQueryPossiblyLeaked(QueryId queryId)
        {
            return false;
        }

        @Override
        public int numberOfLeakedQueries()
        {
            return 0;
        }

        @Override
        public long leakedBytes()
        {
            return 0;
        }

        @Override
        public void contextCollected(QueryId queryId, TaskId taskId, String tag, long bytes)
        {
            reports.add(new Report(queryId, taskId, tag, bytes));
        }
    }
}
