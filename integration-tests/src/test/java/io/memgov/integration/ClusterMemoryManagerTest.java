package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.NodeMemory;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.testing.TestingClock;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The cluster loop on the embedded cluster, with the killers discovered from their plugin jars on the class path.
 */
class ClusterMemoryManagerTest
{
    private static final long MB = 1024 * 1024;

    MemoryEngine.Builder cluster(int nodes)
    {
        // 10MB pools; the loop runs only when the test calls process()
        return MemoryEngine.builder()
                .property("cluster.node-count", String.valueOf(nodes))
                .property("node.heap-size", "20MB")
                .property("memory.heap-headroom-per-node", "10MB")
                .property("query.max-memory-per-node", "10MB")
                .property("memory.cluster.poll-interval", "1h")
                // the limits below are a few kB: the queries must hold the bytes they set, not quanta
                .property("memory.reservation-quantum", "0B");
    }

    private record Held(QueryMemoryContext[] contexts, OperatorMemoryContext[] operators) {}

    private static Held startQuery(MemoryEngine engine, String queryId, String user)
    {
        int nodes = engine.nodes().size();
        QueryMemoryContext[] contexts = new QueryMemoryContext[nodes];
        OperatorMemoryContext[] operators = new OperatorMemoryContext[nodes];
        for (int i = 0; i < nodes; i++) {
            contexts[i] = engine.node(i).createQuery(QueryId.of(queryId), QuerySession.of(user));
            operators[i] = contexts[i].addTask("0." + i).addOperator("HashAggregation");
        }
        return new Held(contexts, operators);
    }

    @Test
    void killsOneQueryWhenEveryPoolIsFullAndTheBlockedQueriesThenFinish()
    {
        try (MemoryEngine engine = cluster(2).property("query.low-memory-killer.policy", "total-reservation").build()) {
            List<String> told = new CopyOnWriteArrayList<>();
            engine.addQueryFailureListener((queryId, tasks, code, message) -> told.add(queryId + " " + code + " " + message));

            Held big = startQuery(engine, "big", "alice");
            Held small = startQuery(engine, "small", "bob");
            MemoryFuture[] smallBlocked = new MemoryFuture[2];
            for (int i = 0; i < 2; i++) {
                assertThat(big.operators()[i].userMemory().setBytes(6 * MB)).isDone();
                smallBlocked[i] = small.operators()[i].userMemory().setBytes(5 * MB);
                // 11MB reserved on a 10MB pool: the node is blocked and so is the small query, past its 1MB guarantee
                assertThat(smallBlocked[i]).isNotDone();
                assertThat(engine.node(i).info().isBlocked()).isTrue();
            }

            engine.cluster().process();

            // total-reservation kills the largest query cluster-wide; its memory is released on every node at once
            assertThat(told).containsExactly("big CLUSTER_OUT_OF_MEMORY Query killed because the cluster is out of memory. Please try again in a few minutes.");
            assertThat(smallBlocked).allSatisfy(future -> assertThat(future).isDone());
            assertThatThrownBy(() -> big.operators()[0].userMemory().setBytes(7 * MB))
                    .isInstanceOfSatisfying(QueryKilledException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY));
            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isEqualTo(1);

            for (Held query : List.of(small, big)) {
                for (QueryMemoryContext context : query.contexts()) {
                    context.close();
                }
            }
            engine.cluster().process();
            for (NodeMemory node : engine.nodes()) {
                assertThat(node.pool().freeBytes()).isEqualTo(node.pool().maxBytes());
            }
            assertThat(engine.cluster().queriesKilledDueToOutOfMemory()).isEqualTo(1);
        }
    }

    @Test
    void enforcesTheDistributedUserMemoryLimit()
    {
        try (MemoryEngine engine = cluster(2).property("query.max-memory", "1kB").build()) {
            Held query = startQuery(engine, "q1", "alice");
            query.operators()[0].userMemory().setBytes(600);
            query.operators()[1].userMemory().setBytes(600);

            engine.cluster().process();

            assertThatThrownBy(() -> query.operators()[0].userMemory().setBytes(700))
                    .isInstanceOf(QueryKilledException.class)
                    .hasMessage("Query exceeded distributed user memory limit of 1kB");
            assertThat(engine.node(0).pool().reservedBytes()).isZero();
        }
    }

    @Test
    void enforcesTheDistributedTotalMemoryLimitCountingRevocableMemory()
    {
        try (MemoryEngine engine = cluster(1).property("query.max-memory", "1kB").property("query.max-total-memory", "2kB").build()) {
            Held query = startQuery(engine, "q1", "alice");
            query.operators()[0].userMemory().setBytes(1000);
            query.operators()[0].revocableMemory().setBytes(1100);

            engine.cluster().process();

            assertThat(query.contexts()[0].failure()).hasValueSatisfying(failure -> {
                assertThat(failure.errorCode()).isEqualTo(ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT);
                assertThat(failure.getMessage()).isEqualTo("Query exceeded distributed total memory limit of 2kB");
            });
        }
    }

    @Test
    void systemMemoryCountsAgainstTheDistributedTotalLimitOnlyNotTheUserLimit()
    {
        // Presto's TestClusterMemoryManager / TestMemoryManager: user and total limits are kept apart; 512B of user memory
        // and 2.5kB of system memory over two nodes exceed query.max-total-memory=2kB, not query.max-memory=1kB
        try (MemoryEngine engine = cluster(2).property("query.max-memory", "1kB").property("query.max-total-memory", "2kB").build()) {
            Held query = startQuery(engine, "q1", "alice");
            query.operators()[0].userMemory().setBytes(256);
            query.operators()[1].userMemory().setBytes(256);
            query.operators()[0].systemMemory().setBytes(1280);
            query.operators()[1].systemMemory().setBytes(1280);

            engine.cluster().process();

            assertThat(query.contexts()[0].failure()).hasValueSatisfying(failure -> {
                assertThat(failure.errorCode()).isEqualTo(ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT);
                assertThat(failure.getMessage()).isEqualTo("Query exceeded distributed total memory limit of 2kB");
            });
        }
    }

    @Test
    void sessionCanOnlyLowerTheDistributedLimit()
    {
        try (MemoryEngine engine = cluster(1).property("query.max-memory", "1kB").build()) {
            QueryMemoryContext raised = engine.node(0).createQuery(QueryId.of("raised"), QuerySession.builder("alice").property("query_max_memory", "1GB").build());
            QueryMemoryContext lowered = engine.node(0).createQuery(QueryId.of("lowered"), QuerySession.builder("alice").property("query_max_memory", "100B").build());
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext raisedSort = raised.addTask("0").addOperator("Sort");
            raisedSort.userMemory().setBytes(1500);
            OperatorMemoryContext loweredSort = lowered.addTask("0").addOperator("Sort");
            loweredSort.userMemory().setBytes(150);

            engine.cluster().process();

            assertThat(raised.failure()).hasValueSatisfying(failure -> assertThat(failure.getMessage()).endsWith("limit of 1kB"));
            assertThat(lowered.failure()).hasValueSatisfying(failure -> assertThat(failure.getMessage()).endsWith("limit of 100B"));
            Reference.reachabilityFence(raisedSort);
            Reference.reachabilityFence(loweredSort);
        }
    }

    @Test
    void killsResourceOvercommitQueriesFirstWhenOutOfMemory()
    {
        try (MemoryEngine engine = cluster(1).property("query.low-memory-killer.policy", "total-reservation").build()) {
            QueryMemoryContext overcommit = engine.node(0).createQuery(QueryId.of("overcommit"),
                    QuerySession.builder("alice").property("resource_overcommit", "true").build());
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext join = overcommit.addTask("0").addOperator("Join");
            join.userMemory().setBytes(2 * MB);
            Held big = startQuery(engine, "big", "bob");
            big.operators()[0].userMemory().setBytes(9 * MB);

            engine.cluster().process();

            // the overcommitting query goes, not the larger one the killer would have chosen
            assertThat(overcommit.failure()).hasValueSatisfying(failure -> assertThat(failure.getMessage())
                    .isEqualTo("The cluster is out of memory and resource_overcommit=true, so this query was killed. It was using 2MB of memory"));
            assertThat(big.contexts()[0].failure()).isEmpty();
            Reference.reachabilityFence(join);
        }
    }

    @Test
    void killsNothingElseWhileThePreviousTargetStillHoldsMemoryUnlessItLeaked()
    {
        TestingClock clock = new TestingClock(Instant.parse("2026-11-21T10:00:00Z"));
        try (MemoryEngine engine = cluster(1).clock(clock).property("query.low-memory-killer.policy", "total-reservation").build()) {
            NodeMemory node = engine.node(0);
            Held first = startQuery(engine, "first", "alice");
            Held second = startQuery(engine, "second", "bob");
            first.operators()[0].userMemory().setBytes(6 * MB);
            second.operators()[0].userMemory().setBytes(5 * MB);
            // memory the first query holds outside its contexts, so killing it cannot release it
            node.pool().reserve(TaskId.of(QueryId.of("first"), "stray"), "Exchange", 6 * MB);

            engine.cluster().process();
            assertThat(first.contexts()[0].failure()).isPresent();
            assertThat(node.info().isBlocked()).isTrue();

            // still out of memory, but the last target still holds 6MB: the cascade guard kills nothing more
            engine.cluster().process();
            assertThat(second.contexts()[0].failure()).isEmpty();
            assertThat(engine.cluster().lastKillTarget()).contains(KillTarget.wholeQuery(QueryId.of("first")));

            // the host finished the first query long ago: the leak detector flags it and the killer may run again
            first.contexts()[0].close(QueryState.FAILED);
            clock.advance(Duration.ofMinutes(2));
            engine.cluster().process();
            assertThat(engine.cluster().numberOfLeakedQueries()).isEqualTo(1);
            assertThat(second.contexts()[0].failure()).hasValueSatisfying(failure -> assertThat(failure.errorCode()).isEqualTo(ErrorCode.CLUSTER_OUT_OF_MEMORY));
        }
    }

    @Test
    void survivesAKillerThatThrowsOrNamesAQueryThatIsNotRunning()
    {
        AtomicInteger calls = new AtomicInteger();
        List<Supplier<Optional<KillTarget>>> behaviours = List.of(
                () -> {
                    throw new IllegalStateException("broken killer");
                },
                () -> Optional.of(KillTarget.wholeQuery(QueryId.of("ghost"))),
                () -> Optional.of(KillTarget.wholeQuery(QueryId.of("victim"))));
        MemoryPlugin plugin = new MemoryPlugin()
        {
            @Override
            public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
            {
                return List.of(new LowMemoryKillerFactory()
                {
                    @Override
                    public String name()
                    {
                        return "scripted";
                    }

                    @Override
                    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                    {
                        return (queries, nodes) -> behaviours.get(calls.getAndIncrement()).get();
                    }
                });
            }
        };
        try (MemoryEngine engine = cluster(1).plugin(plugin).property("query.low-memory-killer.policy", "scripted").build()) {
            Held victim = startQuery(engine, "victim", "alice");
            victim.operators()[0].userMemory().setBytes(6 * MB);
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            Held bystander = startQuery(engine, "bystander", "bob");
            bystander.operators()[0].userMemory().setBytes(5 * MB);

            engine.cluster().process();
            engine.cluster().process();
            assertThat(victim.contexts()[0].failure()).isEmpty();

            engine.cluster().process();
            assertThat(calls).hasValue(3);
            assertThat(victim.contexts()[0].failure()).isPresent();
            Reference.reachabilityFence(bystander);
        }
    }

    @Test
    void killsTasksChosenByTheTaskKillerBeforeAskingTheQueryKiller()
    {
        try (MemoryEngine engine = cluster(1).property("query.low-memory-killer.policy", "total-reservation").build()) {
            QueryMemoryContext retryable = engine.node(0).createQuery(QueryId.of("retryable"),
                    QuerySession.builder("alice").retryPolicy(io.memgov.spi.query.RetryPolicy.TASK).build());
            var small = retryable.addTask("0.0").addOperator("Sort");
            var large = retryable.addTask("0.1").addOperator("Sort");
            small.userMemory().setBytes(3 * MB);
            large.userMemory().setBytes(4 * MB);
            Held other = startQuery(engine, "other", "bob");
            other.operators()[0].userMemory().setBytes(4 * MB);

            engine.cluster().process();

            // the default task killer takes the largest task of a TASK-retry query on the blocked node
            assertThatThrownBy(() -> large.userMemory().setBytes(1)).isInstanceOf(QueryKilledException.class)
                    .hasMessage("Task killed because the cluster is out of memory.");
            assertThat(small.userMemory().setBytes(3 * MB + 1)).isNotNull();
            assertThat(other.contexts()[0].failure()).isEmpty();
            assertThat(engine.cluster().tasksKilledDueToOutOfMemory()).isEqualTo(1);
        }
    }

    @Test
    void rejectsAnUnknownKillerListingEveryRegisteredOne()
    {
        assertThatThrownBy(() -> cluster(1).property("query.low-memory-killer.policy", "nope").build())
                .hasMessageStartingWith("Low memory killer 'nope' is not registered ('query.low-memory-killer.policy'). Available: [")
                .hasMessageContaining("none (NonePlugin from class path")
                .hasMessageContaining("total-reservation (TotalReservationPlugin from class path")
                .hasMessageContaining("total-reservation-on-blocked-nodes (BlockedNodesPlugin from class path");
    }
}
