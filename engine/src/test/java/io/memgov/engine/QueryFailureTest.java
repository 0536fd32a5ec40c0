package io.memgov.engine;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The kill path: {@link MemoryEngine#failQuery} and {@link NodeMemory#failQuery} release everything the
 * query holds, later calls of the query fail with the code, the first failure is kept and listeners hear it once.
 */
final class QueryFailureTest
{
    private static final QueryId VICTIM = QueryId.of("victim");
    private static final QueryId BYSTANDER = QueryId.of("bystander");

    private static MemoryEngine engine(int nodes)
    {
        return MemoryEngine.builder().withoutClassPathDiscovery()
                .properties(Map.of(
                        "node.heap-size", "20MB",
                        "memory.heap-headroom-per-node", "10MB",
                        "query.max-memory-per-node", "10MB",
                        "cluster.node-count", String.valueOf(nodes),
                        // the figures below are the bytes set
                        "memory.reservation-quantum", "0B"))
                .build();
    }

    @Test
    void failingAQueryReleasesEverythingItHeldAndLaterCallsThrowWithTheCode()
    {
        // a killed query's memory is what unblocks the cluster; it must all come back, at every level
        try (MemoryEngine engine = engine(1)) {
            List<Failure> failures = new CopyOnWriteArrayList<>();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> failures.add(new Failure(queryId, tasks, errorCode, message)));
            NodeMemory node = engine.node(0);
            MemoryPool pool = node.pool();

            OperatorMemoryContext bystander = node.createQuery(BYSTANDER, QuerySession.of("bob")).addTask("0").addOperator("scan");
            bystander.userMemory().setBytes(1000);
            MemoryPoolInfo poolBefore = pool.info();
            long rootBefore = node.rootTracker().usedBytes();

            QueryMemoryContext victim = node.createQuery(VICTIM, QuerySession.of("alice"));
            TaskMemoryContext task1 = victim.addTask("1");
            TaskMemoryContext task2 = victim.addTask("2");
            OperatorMemoryContext aggregation = task1.addOperator("HashAggregation");
            OperatorMemoryContext orderBy = task2.addOperator("OrderBy");
            aggregation.userMemory().setBytes(3000);
            aggregation.revocableMemory().setBytes(700);
            orderBy.systemMemory().setBytes(500);
            orderBy.userMemory().setBytes(2000);
            assertThat(pool.reservedBytes()).isEqualTo(1000 + 3000 + 500 + 2000);

            assertThat(engine.failQuery(VICTIM, ErrorCode.CLUSTER_OUT_OF_MEMORY, "Query killed because the cluster is out of memory. Please try again in a few minutes.")).isTrue();

            // everything back to what it was before the victim started
            assertThat(pool.info()).isEqualTo(poolBefore);
            assertThat(pool.reservedBytes()).isEqualTo(1000);
            assertThat(pool.reservedRevocableBytes()).isZero();
            assertThat(pool.queryReservedBytes(VICTIM)).isZero();
            assertThat(pool.queryRevocableBytes(VICTIM)).isZero();
            assertThat(node.rootTracker().usedBytes()).isEqualTo(rootBefore);
            assertThat(victim.tracker().usedBytes()).isZero();
            for (TaskMemoryContext task : List.of(task1, task2)) {
                assertThat(task.userBytes()).isZero();
                assertThat(task.systemBytes()).isZero();
                assertThat(task.revocableBytes()).isZero();
            }
            assertThat(victim.userBytes()).isZero();
            assertThat(victim.systemBytes()).isZero();
            assertThat(victim.revocableBytes()).isZero();
            assertThat(aggregation.userMemory().bytes()).isZero();
            assertThat(aggregation.revocableMemory().bytes()).isZero();
            assertThat(bystander.userMemory().bytes()).isEqualTo(1000);

            // the query's own calls now fail with the code it was killed with
            assertThatThrownBy(() -> aggregation.userMemory().setBytes(1))
                    .isInstanceOfSatisfying(QueryKilledException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY))
                    .hasMessage("Query killed because the cluster is out of memory. Please try again in a few minutes.");
            assertThatThrownBy(() -> orderBy.systemMemory().trySetBytes(0)).isInstanceOf(QueryKilledException.class);
            assertThatThrownBy(() -> orderBy.revocableMemory().addBytes(1)).isInstanceOf(QueryKilledException.class);
            assertThatThrownBy(() -> task1.addOperator("late")).isInstanceOf(QueryKilledException.class);
            assertThatThrownBy(() -> victim.addTask("3")).isInstanceOf(QueryKilledException.class);
            assertThatThrownBy(victim::checkNotFailed).isInstanceOf(QueryKilledException.class);
            assertThat(pool.reservedBytes()).isEqualTo(1000);

            // the first failure is kept; a second kill changes nothing and nobody is told again
            assertThat(engine.failQuery(VICTIM, ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT, "Query exceeded distributed user memory limit of 1kB")).isFalse();
            assertThat(node.failQuery(VICTIM, ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT, "again")).isFalse();
            assertThat(victim.failure()).hasValueSatisfying(e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY));
            assertThatThrownBy(() -> aggregation.userMemory().setBytes(1))
                    .isInstanceOfSatisfying(QueryKilledException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY));
            assertThat(failures).containsExactly(new Failure(VICTIM, Set.of(), ErrorCode.CLUSTER_OUT_OF_MEMORY,
                    "Query killed because the cluster is out of memory. Please try again in a few minutes."));

            // the host still closes the query; that must work after a kill
            victim.close();
            assertThat(node.query(VICTIM)).isEmpty();
            assertThat(pool.info()).isEqualTo(poolBefore);
            // held to the end: the bystander's 1000 bytes are asserted after its last use
            Reference.reachabilityFence(bystander);
        }
    }

    @Test
    void failingAQueryOnEveryNodeTellsListenersOnce()
    {
        // the engine fails a query everywhere it runs, but it is one query failure for the host
        try (MemoryEngine engine = engine(2)) {
            List<Failure> failures = new CopyOnWriteArrayList<>();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> failures.add(new Failure(queryId, tasks, errorCode, message)));
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> {
                throw new IllegalStateException("a broken listener must not stop the others or the kill");
            });
            OperatorMemoryContext onNode0 = engine.node(0).createQuery(VICTIM, QuerySession.of("alice")).addTask("0").addOperator("a");
            OperatorMemoryContext onNode1 = engine.node(1).createQuery(VICTIM, QuerySession.of("alice")).addTask("1").addOperator("b");
            onNode0.userMemory().setBytes(100);
            onNode1.userMemory().setBytes(200);

            assertThat(engine.failQuery(VICTIM, ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT, "Query exceeded distributed user memory limit of 200B")).isTrue();

            assertThat(engine.node(0).pool().reservedBytes()).isZero();
            assertThat(engine.node(1).pool().reservedBytes()).isZero();
            assertThat(failures).containsExactly(new Failure(VICTIM, Set.of(), ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT, "Query exceeded distributed user memory limit of 200B"));
        }
    }

    @Test
    void failingAnUnknownQueryDoesNothing()
    {
        // the cluster loop may name a query that just finished; that is not a failure to report
        try (MemoryEngine engine = engine(1)) {
            List<Failure> failures = new CopyOnWriteArrayList<>();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> failures.add(new Failure(queryId, tasks, errorCode, message)));

            assertThat(engine.failQuery(QueryId.of("gone"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "x")).isFalse();
            assertThat(failures).isEmpty();
        }
    }

    @Test
    void killingTheQueryThatFillsThePoolUnblocksTheOthers()
    {
        // this is why the killer exists: the waiters' shared future must complete when the victim's memory goes
        try (MemoryEngine engine = engine(1)) {
            NodeMemory node = engine.node(0);
            OperatorMemoryContext hog = node.createQuery(VICTIM, QuerySession.of("alice")).addTask("0").addOperator("hog");
            hog.userMemory().setBytes(9 * 1024 * 1024);
            OperatorMemoryContext waiter = node.createQuery(BYSTANDER, QuerySession.of("bob")).addTask("0").addOperator("waiter");
            MemoryFuture blocked = waiter.userMemory().setBytes(2 * 1024 * 1024);
            assertThat(blocked).isNotDone();

            engine.failQuery(VICTIM, ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed");

            assertThat(blocked).isDone();
            assertThat(node.pool().reservedBytes()).isEqualTo(2 * 1024 * 1024);
            // held to the end: a collected operator would release its bytes (and a collected hog unblock the waiter)
            Reference.reachabilityFence(hog);
            Reference.reachabilityFence(waiter);
        }
    }

    @Test
    void nodeLevelFailureReleasesOnlyThatNode()
    {
        // a node policy (reserve mode) may fail a query on its own node through the node manager
        try (MemoryEngine engine = engine(2)) {
            QueryMemoryContext onNode0 = engine.node(0).createQuery(VICTIM, QuerySession.of("alice"));
            QueryMemoryContext onNode1 = engine.node(1).createQuery(VICTIM, QuerySession.of("alice"));
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext a = onNode0.addTask(TaskId.of(VICTIM, "0"), false).addOperator("a");
            a.userMemory().setBytes(10);
            OperatorMemoryContext b = onNode1.addTask(TaskId.of(VICTIM, "1"), true).addOperator("b");
            b.userMemory().setBytes(20);

            assertThat(engine.node(0).failQuery(VICTIM, ErrorCode.QUERY_MEMORY_EXHAUSTED, "retired")).isTrue();

            assertThat(engine.node(0).pool().reservedBytes()).isZero();
            assertThat(engine.node(1).pool().reservedBytes()).isEqualTo(20);
            assertThat(onNode1.failure()).isEmpty();
            assertThat(onNode0.failure()).hasValueSatisfying(e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED));
            Reference.reachabilityFence(a);
            Reference.reachabilityFence(b);
        }
    }

    private record Failure(QueryId queryId, Set<TaskId> tasks, ErrorCode errorCode, String message) {}
}
