package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.MemoryRevocation;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
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

import static io.memgov.spi.policy.DataSizes.succinct;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
    private final Logger queryLogger = Logger.getLogger(QueryMemoryContext.class.getName());
    private final List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Handler capture = new Handler()
    {
        @Override
        public void publish(LogRecord record)
        {
            // other tests' engines forget contexts too: keep only this test's query
            if (record.getLevel().intValue() >= Level.WARNING.intValue()
                    && (record.getMessage().contains(" of query " + queryId + " ") || record.getMessage().startsWith("Query context " + queryId + " "))) {
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
        queryLogger.addHandler(capture);
        engine = MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .plugin(detector.plugin())
                // the bytes reported as collected are the bytes set
                .properties(Map.of("node.heap-size", "100MB", "memory.leak-detector.policy", RecordingDetector.NAME, "memory.reservation-quantum", "0B"))
                .build();
        pool = engine.node(0).pool();
    }

    @AfterEach
    void tearDown()
    {
        engine.close();
        operatorLogger.removeHandler(capture);
        taskLogger.removeHandler(capture);
        queryLogger.removeHandler(capture);
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

    @Test
    void aForgottenQueryIsClosedWithItsTasksAndOperatorsLoggedAndReported()
    {
        NodeMemory node = engine.node(0);
        forgetQuery(node, queryId);
        assertThat(pool.reservedBytes()).isEqualTo(5 * MB);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(MB);
        assertThat(node.query(queryId)).isPresent();

        // the query's action releases what its tasks' and operators' own actions did not report first: each byte once
        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.taskId() == null)
                && detector.reports.stream().mapToLong(Report::bytes).sum() == 6 * MB);
        settle();

        assertThat(detector.reports).allSatisfy(report -> assertThat(report.queryId()).isEqualTo(queryId));
        assertThat(detector.reports).filteredOn(report -> report.taskId() == null).singleElement()
                .satisfies(report -> assertThat(report.tag()).isNull());
        assertThat(detector.reports.stream().mapToLong(Report::bytes).sum()).isEqualTo(6 * MB);
        // one line for everything released with the query, whichever actions ran first
        long reportedByOperators = detector.reports.stream().filter(report -> report.taskId() != null).mapToLong(Report::bytes).sum();
        assertThat(warnings).filteredOn(line -> line.startsWith("Query context ")).containsExactly(
                "Query context " + q + " on node node-0 was garbage-collected without close(); released 6MB held by its tasks "
                        + q + ".0 [Exchange, HashAggregation], " + q + ".1 [Sort]"
                        + (reportedByOperators == 0 ? "" : " (" + succinct(reportedByOperators) + " of it already reported by its contexts collected with it)"));
        assertThat(node.query(queryId)).isEmpty();
        assertThat(node.queries()).isEmpty();
        assertThat(pool.reservedBytes()).isZero();
        assertThat(pool.reservedRevocableBytes()).isZero();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
        assertThat(pool.info().queryMemoryReservations()).doesNotContainKey(queryId);
        node.rootTracker().flush();
        assertThat(node.rootTracker().usedBytes()).isZero();
        // the id is free again: the host may start the query anew on this node
        try (QueryMemoryContext again = node.createQuery(queryId, QuerySession.of("alice"))) {
            assertThat(again.userBytes()).isZero();
        }
    }

    @Test
    void theLineOfAForgottenQueryNamesItsFirstTasksAndTheirTags()
    {
        NodeMemory node = engine.node(0);
        // tasks without operators: nothing else has an action of its own that could run first, so the line is exact
        forgetQueryWithEmptyTasks(node, queryId, 7);

        collectUntil(() -> detector.reports.size() == 1);
        settle();

        assertThat(detector.reports).containsExactly(new Report(queryId, null, null, 0));
        assertThat(warnings).containsExactly("Query context " + q + " on node node-0 was garbage-collected without close(); released 0B held by its tasks "
                + q + ".0 [], " + q + ".1 [], " + q + ".2 [], " + q + ".3 [], " + q + ".4 [] and 2 more");
        assertThat(node.query(queryId)).isEmpty();
    }

    @Test
    void aForgottenQueryThatWasKilledButNotClosedIsStillReleasedAndReported()
    {
        NodeMemory node = engine.node(0);
        forgetKilledQuery(node, queryId);
        // killing released the memory, but the query is still listed, its tracker open, until the host closes it
        assertThat(pool.reservedBytes()).isZero();
        assertThat(node.query(queryId)).isPresent();

        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.taskId() == null));
        settle();

        assertThat(detector.reports).filteredOn(report -> report.taskId() == null).containsExactly(new Report(queryId, null, null, 0));
        assertThat(detector.reports.stream().mapToLong(Report::bytes).sum()).isZero();
        assertThat(warnings).filteredOn(line -> line.startsWith("Query context ")).containsExactly(
                "Query context " + q + " on node node-0 was garbage-collected without close() after it was killed (CLUSTER_OUT_OF_MEMORY); released 0B held by its tasks "
                        + q + ".0 [HashAggregation]");
        assertThat(node.query(queryId)).isEmpty();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    @Test
    void aQueryIsKeptByAnyTaskOrOperatorHandleOfItsHost()
    {
        NodeMemory node = engine.node(0);
        QueryId byOperator = QueryId.of(q + "op");
        QueryId byTask = QueryId.of(q + "task");
        QueryId byLocal = QueryId.of(q + "local");
        OperatorMemoryContext operator = operatorOfForgottenQuery(node, byOperator);
        TaskMemoryContext task = taskOfForgottenQuery(node, byTask);
        LocalMemoryContext local = localOfForgottenQuery(node, byLocal);
        // the sentinel: once it is reported, the kept queries' handles went through the same collections
        forgetQuery(node, queryId);

        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.taskId() == null));
        settle();

        assertThat(detector.reports).extracting(Report::queryId).containsOnly(queryId);
        assertThat(node.queries()).extracting(QueryMemoryContext::queryId).containsExactlyInAnyOrder(byOperator, byTask, byLocal);
        // what each kept handle leads to is the host's handle of its query, equal to the node's view of it
        QueryMemoryContext operatorQuery = operator.task().query();
        assertThat(operatorQuery).isEqualTo(node.query(byOperator).orElseThrow()).isNotSameAs(node.query(byOperator).orElseThrow());
        assertThat(operatorQuery.userBytes()).isEqualTo(MB);
        assertThat(task.query()).isEqualTo(node.query(byTask).orElseThrow());
        assertThat(task.isClosed()).isFalse();
        assertThat(node.query(byLocal).orElseThrow().userBytes()).isEqualTo(3 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(4 * MB);

        // their accounting goes on: new reservations, a task added through the node's view, then a normal close
        operator.userMemory().setBytes(2 * MB);
        assertThat(operatorQuery.userBytes()).isEqualTo(2 * MB);
        TaskMemoryContext added = node.query(byTask).orElseThrow().addTask("1");
        assertThat(added.query()).isSameAs(task.query());
        try (OperatorMemoryContext more = added.addOperator("Exchange")) {
            more.systemMemory().setBytes(MB);
            assertThat(task.query().systemBytes()).isEqualTo(MB);
        }
        local.setBytes(MB);
        assertThat(node.query(byLocal).orElseThrow().userBytes()).isEqualTo(MB);
        operatorQuery.close();
        task.query().close();
        node.query(byLocal).orElseThrow().close();
        settle();
        assertThat(node.queries()).isEmpty();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
        assertThat(detector.reports).extracting(Report::queryId).containsOnly(queryId);
    }

    @Test
    void closedQueriesThatAreCollectedAreNotReported()
    {
        NodeMemory node = engine.node(0);
        List<WeakReference<Object>> closed = new ArrayList<>();
        closed.addAll(closeQuery(node, QueryId.of(q + "closed"), false));
        // killed, then closed through a view of the node: the handle's action finds it closed
        closed.addAll(closeQuery(node, QueryId.of(q + "killed"), true));
        assertThat(node.queries()).isEmpty();
        // the sentinel: once it is reported, the cleaner ran the closed handles' actions too
        forgetQuery(node, queryId);

        collectUntil(() -> closed.stream().allMatch(reference -> reference.get() == null)
                && detector.reports.stream().anyMatch(report -> report.taskId() == null));
        settle();

        assertThat(detector.reports).extracting(Report::queryId).containsOnly(queryId);
        assertThat(warnings).filteredOn(line -> line.startsWith("Query context ")).hasSize(1);
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    @Test
    void theNodesViewsOfAQueryDoNotKeepItsHandle()
    {
        NodeMemory node = engine.node(0);
        forgetQuery(node, queryId);
        // what a cluster loop or a revoking scheduler holds between rounds
        List<QueryMemoryContext> listed = node.queries();
        QueryMemoryContext view = node.query(queryId).orElseThrow();
        List<TaskMemoryContext> taskViews = view.tasks();
        assertThat(listed).containsExactly(view);
        assertThat(taskViews).hasSize(2).allSatisfy(task -> assertThat(task.query()).isSameAs(view));

        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.taskId() == null));

        assertThat(view.isClosed()).isTrue();
        assertThat(listed.get(0).isClosed()).isTrue();
        assertThat(taskViews).allSatisfy(task -> assertThat(task.isClosed()).isTrue());
        assertThat(view.userBytes()).isZero();
        assertThat(view.revocableBytes()).isZero();
        assertThat(node.query(queryId)).isEmpty();
        assertThatThrownBy(() -> view.addTask("9"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("query memory context " + q + " is already closed on node node-0");
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    @Test
    void theHostsHandleAndTheNodesViewsAreEqualAndATasksQueryFollowsIt()
    {
        NodeMemory node = engine.node(0);
        try (QueryMemoryContext query = node.createQuery(queryId, QuerySession.of("alice"))) {
            QueryMemoryContext view = node.query(queryId).orElseThrow();
            assertThat(view).isNotSameAs(query).isEqualTo(query).hasSameHashCodeAs(query);
            assertThat(node.queries()).containsExactly(query);
            TaskMemoryContext task = query.addTask("0");
            assertThat(task.query()).isSameAs(query);
            TaskMemoryContext taskView = query.tasks().get(0);
            assertThat(taskView).isEqualTo(task);
            assertThat(taskView.query()).isNotSameAs(query).isEqualTo(query);
            try (OperatorMemoryContext operator = task.addOperator("Scan")) {
                assertThat(operator.task().query()).isSameAs(query);
                operator.userMemory().setBytes(MB);
                assertThat(view.userBytes()).isEqualTo(MB);
                assertThat(view.toString()).isEqualTo(query.toString());
            }
            // a view closes the query as the handle would
            view.close();
            assertThat(query.isClosed()).isTrue();
            assertThat(node.query(queryId)).isEmpty();
        }
        assertThat(detector.reports).isEmpty();
    }

    @Test
    void aForgottenTaskReleasesItsOwnMemoryWithItsOperators()
    {
        QueryMemoryContext query = engine.node(0).createQuery(queryId, QuerySession.of("alice"));
        forgetTaskWithOwnMemory(query, "0", 2 * MB);
        assertThat(query.systemBytes()).isEqualTo(2 * MB);
        assertThat(pool.reservedBytes()).isEqualTo(3 * MB);

        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.tag() == null)
                && detector.reports.stream().mapToLong(Report::bytes).sum() == 3 * MB);

        // the task's own memory is reported with the task, never alone
        assertThat(detector.reports).filteredOn(report -> report.tag() == null).singleElement()
                .satisfies(report -> assertThat(report.bytes()).isGreaterThanOrEqualTo(2 * MB));
        assertThat(warnings).filteredOn(line -> line.startsWith("Task context ")).singleElement()
                .satisfies(line -> assertThat(line).contains("(task-local)"));
        assertThat(query.tasks()).isEmpty();
        assertThat(query.systemBytes()).isZero();
        assertThat(pool.reservedBytes()).isZero();
        query.close();
    }

    @Test
    void aForgottenQueryReleasesItsOwnMemoryAndNamesItAsThePoolShowsIt()
    {
        NodeMemory node = engine.node(0);
        forgetQueryWithOwnMemory(node, queryId, 3 * MB);
        assertThat(pool.info().taskMemoryReservations()).containsEntry(TaskId.of(queryId, "query-local"), 3 * MB);

        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.taskId() == null));
        settle();

        assertThat(detector.reports).containsExactly(new Report(queryId, null, null, 3 * MB));
        assertThat(warnings).containsExactly("Query context " + q + " on node node-0 was garbage-collected without close(); released 3MB held by its tasks "
                + q + ".query-local [(query-local)]");
        assertThat(node.query(queryId)).isEmpty();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    @Test
    void theOwnMemoryContextsKeepTheirTaskAndQueryHandles()
    {
        NodeMemory node = engine.node(0);
        QueryId byTaskMemory = QueryId.of(q + "task");
        QueryId byQueryMemory = QueryId.of(q + "query");
        LocalMemoryContext taskMemory = ownMemoryOfForgottenTask(node, byTaskMemory);
        LocalMemoryContext queryMemory = ownMemoryOfForgottenQuery(node, byQueryMemory);
        // the sentinel: once it is reported, the kept handles went through the same collections
        forgetQuery(node, queryId);

        collectUntil(() -> detector.reports.stream().anyMatch(report -> report.taskId() == null));
        settle();

        assertThat(detector.reports).extracting(Report::queryId).containsOnly(queryId);
        assertThat(node.query(byTaskMemory).orElseThrow().tasks()).hasSize(1);
        taskMemory.setBytes(2 * MB);
        queryMemory.setBytes(3 * MB);
        assertThat(node.query(byTaskMemory).orElseThrow().systemBytes()).isEqualTo(2 * MB);
        assertThat(node.query(byQueryMemory).orElseThrow().systemBytes()).isEqualTo(3 * MB);
        node.query(byTaskMemory).orElseThrow().close();
        node.query(byQueryMemory).orElseThrow().close();
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
    }

    private static void forgetTaskWithOwnMemory(QueryMemoryContext query, String localId, long own)
    {
        TaskMemoryContext task = query.addTask(localId);
        task.localMemory().setBytes(own);
        forgetOperator(task, "HashAggregation", MB, 0, 0);
    }

    private static void forgetQueryWithOwnMemory(NodeMemory node, QueryId queryId, long own)
    {
        node.createQuery(queryId, QuerySession.of("alice")).localMemory().setBytes(own);
    }

    private static LocalMemoryContext ownMemoryOfForgottenTask(NodeMemory node, QueryId queryId)
    {
        LocalMemoryContext own = node.createQuery(queryId, QuerySession.of("alice")).addTask("0").localMemory();
        own.setBytes(MB);
        return own;
    }

    private static LocalMemoryContext ownMemoryOfForgottenQuery(NodeMemory node, QueryId queryId)
    {
        LocalMemoryContext own = node.createQuery(queryId, QuerySession.of("alice")).localMemory();
        own.setBytes(MB);
        return own;
    }

    private static void forgetQuery(NodeMemory node, QueryId queryId)
    {
        QueryMemoryContext query = node.createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext first = query.addTask("0");
        forgetOperator(first, "HashAggregation", 2 * MB, 0, MB);
        forgetOperator(first, "Exchange", 0, MB, 0);
        forgetOperator(query.addTask("1"), "Sort", 2 * MB, 0, 0);
    }

    private static void forgetQueryWithEmptyTasks(NodeMemory node, QueryId queryId, int tasks)
    {
        QueryMemoryContext query = node.createQuery(queryId, QuerySession.of("alice"));
        for (int i = 0; i < tasks; i++) {
            query.addTask(String.valueOf(i));
        }
    }

    private static void forgetKilledQuery(NodeMemory node, QueryId queryId)
    {
        QueryMemoryContext query = node.createQuery(queryId, QuerySession.of("alice"));
        forgetOperator(query.addTask("0"), "HashAggregation", 2 * MB, MB, MB);
        assertThat(query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test")).isTrue();
    }

    private static OperatorMemoryContext operatorOfForgottenQuery(NodeMemory node, QueryId queryId)
    {
        OperatorMemoryContext operator = node.createQuery(queryId, QuerySession.of("alice")).addTask("0").addOperator("KeptWithoutQuery");
        operator.userMemory().setBytes(MB);
        return operator;
    }

    private static TaskMemoryContext taskOfForgottenQuery(NodeMemory node, QueryId queryId)
    {
        return node.createQuery(queryId, QuerySession.of("alice")).addTask("0");
    }

    private static LocalMemoryContext localOfForgottenQuery(NodeMemory node, QueryId queryId)
    {
        LocalMemoryContext local = node.createQuery(queryId, QuerySession.of("alice")).addTask("0").addOperator("KeptByLocal").userMemory();
        local.setBytes(3 * MB);
        return local;
    }

    private static List<WeakReference<Object>> closeQuery(NodeMemory node, QueryId queryId, boolean killFirst)
    {
        QueryMemoryContext query = node.createQuery(queryId, QuerySession.of("alice"));
        TaskMemoryContext task = query.addTask("0");
        OperatorMemoryContext operator = task.addOperator("ClosedWithQuery");
        operator.userMemory().setBytes(MB);
        if (killFirst) {
            query.fail(ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test");
            node.query(queryId).orElseThrow().close();
        }
        else {
            query.close();
        }
        return List.of(new WeakReference<>(query), new WeakReference<>(task), new WeakReference<>(operator));
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
        return ((OperatorContext) operator).requestRevocation().orElseThrow();
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

    private void settle()
    {
        // a few more collections: a context wrongly released would be reported while they run, so nothing new may come
        int reports = detector.reports.size();
        int lines = warnings.size();
        await().during(Duration.ofMillis(150)).atMost(GC_TIMEOUT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            System.gc();
            assertThat(detector.reports).as("leak reports").hasSize(reports);
            assertThat(warnings).as("warnings").hasSize(lines);
        });
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
                        public MemoryLeakDetector create(PolicyConfig config, MemoryLeakDetectorContext context)
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
