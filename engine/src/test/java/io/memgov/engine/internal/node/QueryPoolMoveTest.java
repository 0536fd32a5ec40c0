package io.memgov.engine.internal.node;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Moving a query between the pools of a node, as an assignment from the cluster loop does (Presto's
 * {@code TestMemoryPools.testMoveQuery}), on a layout of two standard pools.
 */
final class QueryPoolMoveTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");
    private static final QueryId Q3 = QueryId.of("q3");

    private static MemoryPlugin twoPools(long generalBytes, long reservedBytes)
    {
        return new MemoryPlugin()
        {
            @Override
            public List<MemoryPoolFactory> memoryPoolFactories()
            {
                return List.of(new MemoryPoolFactory()
                {
                    @Override
                    public String name()
                    {
                        return "two-pools";
                    }

                    @Override
                    public MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context)
                    {
                        return MemoryPoolLayout.of(context.createStandardPool("general", generalBytes), context.createStandardPool("reserved", reservedBytes));
                    }
                });
            }
        };
    }

    private static MemoryEngine engine(long generalBytes, long reservedBytes)
    {
        return MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .plugin(twoPools(generalBytes, reservedBytes))
                .property("memory.pool.policy", "two-pools")
                .property("node.heap-size", "2GB")
                .property("node.heap-governed", "false")
                .property("memory.heap-headroom-per-node", "10%")
                .property("query.max-memory-per-node", "1GB")
                .property("memory.cluster.poll-interval", "1h")
                // every counter of both pools is checked against the bytes set
                .property("memory.reservation-quantum", "0B")
                .build();
    }

    private static MemoryPoolAssignment assignment(long version, Map<QueryId, String> placements)
    {
        return new MemoryPoolAssignment(version, placements);
    }

    @Test
    void theOwnMemoryOfAQueryAndItsTasksMovesWithIt()
    {
        try (MemoryEngine engine = engine(10 * MB, 8 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            MemoryPool general = node.pool("general").orElseThrow();
            MemoryPool reserved = node.pool("reserved").orElseThrow();
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            OperatorMemoryContext operator = task.addOperator("HashAggregation");
            operator.userMemory().setBytes(MB);
            task.localMemory().setBytes(MB);
            query.localMemory().setBytes(2 * MB);

            assertThat(node.applyAssignment(assignment(1, Map.of(Q1, "reserved")))).isTrue();

            // the pools keep per-task and per-tag totals: both arrive whole
            TaskId queryLocal = TaskId.of(Q1, "query-local");
            assertThat(general.info()).isEqualTo(MemoryPoolInfo.empty("general", 10 * MB));
            assertThat(reserved.info().taskMemoryReservations()).isEqualTo(Map.of(task.taskId(), 2 * MB, queryLocal, 2 * MB));
            assertThat(reserved.info().queryMemoryAllocations().get(Q1)).containsExactlyInAnyOrder(
                    new MemoryAllocation("(query-local)", 2 * MB), new MemoryAllocation("(task-local)", MB), new MemoryAllocation("HashAggregation", MB));

            // and go back to zero in the pool they moved to
            query.localMemory().setBytes(0);
            task.localMemory().setBytes(MB / 2);
            assertThat(reserved.info().taskMemoryReservations()).isEqualTo(Map.of(task.taskId(), 1536 * KB));
            query.close();
            assertThat(reserved.info()).isEqualTo(MemoryPoolInfo.empty("reserved", 8 * MB));
            Reference.reachabilityFence(operator);
        }
    }

    @Test
    void movesAQueryWithItsTasksAndTagsAndEveryCounterOfBothPoolsIsRight()
    {
        try (MemoryEngine engine = engine(10 * MB, 8 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            MemoryPool general = node.pool("general").orElseThrow();
            MemoryPool reserved = node.pool("reserved").orElseThrow();
            assertThat(node.pool()).isSameAs(general);

            QueryMemoryContext moving = node.createQuery(Q1, QuerySession.of("alice"));
            TaskMemoryContext task0 = moving.addTask("0");
            TaskMemoryContext task1 = moving.addTask("1");
            OperatorMemoryContext aggregation0 = task0.addOperator("HashAggregation");
            OperatorMemoryContext orderBy0 = task0.addOperator("OrderBy");
            OperatorMemoryContext aggregation1 = task1.addOperator("HashAggregation");
            OperatorMemoryContext exchange1 = task1.addOperator("Exchange");
            aggregation0.userMemory().setBytes(2 * MB);
            orderBy0.userMemory().setBytes(MB);
            aggregation1.userMemory().setBytes(MB);
            exchange1.systemMemory().setBytes(512 * KB);
            aggregation1.revocableMemory().setBytes(256 * KB);
            QueryMemoryContext staying = node.createQuery(Q2, QuerySession.of("bob"));
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext join = staying.addTask("0").addOperator("Join");
            join.userMemory().setBytes(3 * MB);
            MemoryPoolInfo generalBefore = general.info();
            assertThat(generalBefore.reservedBytes()).isEqualTo(7680 * KB);

            assertThat(node.applyAssignment(assignment(1, Map.of(Q1, "reserved")))).isTrue();

            // every counter of both pools right afterwards: the moved query with its task and tag totals in RESERVED,
            // the other query untouched in GENERAL
            assertThat(moving.pool()).isSameAs(reserved);
            assertThat(staying.pool()).isSameAs(general);
            TaskId t0 = task0.taskId();
            TaskId t1 = task1.taskId();
            assertThat(reserved.info()).isEqualTo(new MemoryPoolInfo("reserved", 8 * MB, 4608 * KB, 256 * KB,
                    Map.of(Q1, 4608 * KB),
                    Map.of(Q1, List.of(new MemoryAllocation("HashAggregation", 3 * MB), new MemoryAllocation("OrderBy", MB), new MemoryAllocation("Exchange", 512 * KB))),
                    Map.of(Q1, 256 * KB),
                    Map.of(t0, 3 * MB, t1, 1536 * KB),
                    Map.of(t1, 256 * KB)));
            TaskId q2Task = staying.tasks().get(0).taskId();
            assertThat(general.info()).isEqualTo(new MemoryPoolInfo("general", 10 * MB, 3 * MB, 0,
                    Map.of(Q2, 3 * MB), Map.of(Q2, List.of(new MemoryAllocation("Join", 3 * MB))), Map.of(), Map.of(q2Task, 3 * MB), Map.of()));
            assertThat(node.info().pools()).extracting(MemoryPoolInfo::poolId).containsExactly("general", "reserved");

            // later calls of the moved query go to RESERVED: frees by task and tag that no longer match one cell
            orderBy0.userMemory().setBytes(0);
            aggregation1.userMemory().setBytes(0);
            aggregation0.userMemory().setBytes(2 * MB + 100);
            assertThat(reserved.info().taskMemoryReservations()).isEqualTo(Map.of(t0, 2 * MB + 100, t1, 512 * KB));
            assertThat(reserved.info().queryMemoryAllocations().get(Q1))
                    .containsExactly(new MemoryAllocation("HashAggregation", 2 * MB + 100), new MemoryAllocation("Exchange", 512 * KB));
            assertThat(general.reservedBytes()).isEqualTo(3 * MB);

            moving.close();
            assertThat(reserved.info()).isEqualTo(MemoryPoolInfo.empty("reserved", 8 * MB));
            staying.close();
            assertThat(general.info()).isEqualTo(MemoryPoolInfo.empty("general", 10 * MB));
            // held to the end: exchange1 and join are not used after they reserve, but their bytes are asserted
            Reference.reachabilityFence(exchange1);
            Reference.reachabilityFence(join);
        }
    }

    @Test
    void wakesTheMovedQuerysBlockedCallersWhileTheOthersStayBlocked()
            throws Exception
    {
        try (MemoryEngine engine = engine(10 * MB, 8 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            OperatorMemoryContext moving = node.createQuery(Q1, QuerySession.of("alice")).addTask("0").addOperator("HashAggregation");
            OperatorMemoryContext other = node.createQuery(Q2, QuerySession.of("bob")).addTask("0").addOperator("HashAggregation");
            OperatorMemoryContext large = node.createQuery(Q3, QuerySession.of("carol")).addTask("0").addOperator("HashAggregation");
            assertThat(moving.userMemory().setBytes(2 * MB)).isDone();
            assertThat(large.userMemory().setBytes(6 * MB)).isDone();
            MemoryFuture otherBlocked = other.userMemory().setBytes(4 * MB + 512 * KB);
            MemoryFuture movingBlocked = moving.userMemory().setBytes(3 * MB);
            assertThat(otherBlocked).isNotDone();
            assertThat(movingBlocked).isNotDone();

            // a real thread parked on the moved query's future, as a driver would be
            CountDownLatch parked = new CountDownLatch(1);
            CompletableFuture<Long> resumed = CompletableFuture.supplyAsync(() -> {
                parked.countDown();
                movingBlocked.join();
                return moving.userMemory().bytes();
            });
            assertThat(parked.await(10, TimeUnit.SECONDS)).isTrue();

            node.applyAssignment(assignment(1, Map.of(Q1, "reserved")));

            assertThat(resumed.get(10, TimeUnit.SECONDS)).isEqualTo(3 * MB);
            // GENERAL still holds 10.5MB of its 10MB: the other query stays blocked until memory is freed there
            assertThat(node.pool().info().isBlocked()).isTrue();
            assertThat(otherBlocked).isNotDone();
            large.close();
            assertThat(otherBlocked).isDone();
            // held to the end: a collected "other" would release its bytes and unblock itself
            Reference.reachabilityFence(other);
        }
    }

    @Test
    void ignoresAStaleAssignmentVersion()
    {
        try (MemoryEngine engine = engine(10 * MB, 8 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            OperatorMemoryContext sort = query.addTask("0").addOperator("Sort");
            sort.userMemory().setBytes(MB);

            assertThat(node.applyAssignment(assignment(2, Map.of(Q1, "reserved")))).isTrue();
            // version 1 was decided before version 2 and arrives late: applying it would undo the newer decision
            assertThat(node.applyAssignment(assignment(1, Map.of()))).isFalse();
            assertThat(node.applyAssignment(assignment(2, Map.of()))).isFalse();
            assertThat(node.assignmentVersion()).isEqualTo(2);
            assertThat(query.pool().id()).isEqualTo("reserved");
            assertThat(node.pool("reserved").orElseThrow().queryReservedBytes(Q1)).isEqualTo(MB);

            // a newer version that no longer lists the query puts it back in the general pool
            assertThat(node.applyAssignment(assignment(3, Map.of()))).isTrue();
            assertThat(query.pool().id()).isEqualTo("general");
            assertThat(node.pool().queryReservedBytes(Q1)).isEqualTo(MB);
            assertThat(node.pool("reserved").orElseThrow().reservedBytes()).isZero();
            Reference.reachabilityFence(sort);
        }
    }

    @Test
    void rejectsAnAssignmentToAPoolTheNodeDoesNotHaveAndMovesNothing()
    {
        try (MemoryEngine engine = engine(10 * MB, 8 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            QueryMemoryContext first = node.createQuery(Q1, QuerySession.of("alice"));
            OperatorMemoryContext sort = first.addTask("0").addOperator("Sort");
            sort.userMemory().setBytes(MB);

            assertThatThrownBy(() -> node.applyAssignment(assignment(1, Map.of(Q1, "reserved", Q2, "system"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Memory pool assignment version 1 places queries in pool 'system', which node node-0 does not have. Pools: [general, reserved]");
            assertThat(first.pool().id()).isEqualTo("general");
            assertThat(node.assignmentVersion()).isZero();
            Reference.reachabilityFence(sort);
        }
    }

    @Test
    void startsAQueryInThePoolTheAssignmentInForcePlacesIt()
    {
        try (MemoryEngine engine = engine(10 * MB, 8 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            // the cluster loop promoted the query before its first task reached this node
            node.applyAssignment(assignment(1, Map.of(Q1, "reserved")));
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            OperatorMemoryContext sort = query.addTask("0").addOperator("Sort");
            sort.userMemory().setBytes(MB);

            assertThat(query.pool().id()).isEqualTo("reserved");
            assertThat(node.pool("reserved").orElseThrow().queryReservedBytes(Q1)).isEqualTo(MB);
            assertThat(node.pool().reservedBytes()).isZero();
            Reference.reachabilityFence(sort);
        }
    }

    @Test
    void movesBackAndForthWhileTasksReserveAndFreeOnOtherThreadsWithoutLosingAByte()
            throws Exception
    {
        try (MemoryEngine engine = engine(512 * MB, 512 * MB)) {
            NodeMemoryManager node = (NodeMemoryManager) engine.node(0);
            QueryMemoryContext query = node.createQuery(Q1, QuerySession.of("alice"));
            List<OperatorMemoryContext> operators = new ArrayList<>();
            for (int task = 0; task < 4; task++) {
                operators.add(query.addTask(String.valueOf(task)).addOperator(task % 2 == 0 ? "HashAggregation" : "OrderBy"));
            }
            AtomicBoolean stop = new AtomicBoolean();
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (OperatorMemoryContext operator : operators) {
                workers.add(CompletableFuture.runAsync(() -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (!stop.get()) {
                        operator.userMemory().setBytes(random.nextLong(4 * MB));
                        operator.systemMemory().setBytes(random.nextLong(MB));
                        operator.revocableMemory().setBytes(random.nextLong(MB));
                    }
                }, runnable -> new Thread(runnable, "worker").start()));
            }
            for (int version = 1; version <= 300; version++) {
                node.applyAssignment(assignment(version, version % 2 == 1 ? Map.of(Q1, "reserved") : Map.of()));
            }
            stop.set(true);
            CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

            // version 300 put the query back in GENERAL: everything it holds is there, nothing stayed in RESERVED
            long user = operators.stream().mapToLong(operator -> operator.userMemory().bytes() + operator.systemMemory().bytes()).sum();
            long revocable = operators.stream().mapToLong(operator -> operator.revocableMemory().bytes()).sum();
            MemoryPool general = node.pool();
            MemoryPool reserved = node.pool("reserved").orElseThrow();
            assertThat(general.queryReservedBytes(Q1)).isEqualTo(user);
            assertThat(general.queryRevocableBytes(Q1)).isEqualTo(revocable);
            assertThat(reserved.info()).isEqualTo(MemoryPoolInfo.empty("reserved", 512 * MB));
            query.close();
            assertThat(general.info()).isEqualTo(MemoryPoolInfo.empty("general", 512 * MB));
        }
    }
}
