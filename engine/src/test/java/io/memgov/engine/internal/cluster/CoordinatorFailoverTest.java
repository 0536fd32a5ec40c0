package io.memgov.engine.internal.cluster;

import io.memgov.engine.MemoryEngineConfig;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cascade guard when the coordinator role moves between processes: a coordinator may die at any instant of a
 * round, so what it hands over must never be older than what it did, and the next coordinator must finish what the
 * last one may have left half done.
 */
final class CoordinatorFailoverTest
{
    private static final NodeId NODE = NodeId.of("n1");
    private static final long POOL_BYTES = 100;

    /** The largest query goes: enough for a blocked node with two queries. */
    private static final LowMemoryKiller LARGEST = (queries, nodes) -> queries.stream()
            .max(Comparator.comparingLong(RunningQueryInfo::totalReservationBytes))
            .map(query -> KillTarget.wholeQuery(query.queryId()));

    /** What survives a coordinator: the state it saved last. Shared by the transports of two processes. */
    private static final class StateStore
    {
        volatile CoordinatorState saved;
    }

    /**
     * One process's transport: one blocked node whose queries hold what {@link #held} says (a kill is delivered to the
     * node only while {@link #delivering}), the coordinator role as {@link #coordinator} says, the state in the shared
     * store. Records each command with the state saved when it was sent.
     */
    private static final class ProcessTransport
            implements ClusterTransport
    {
        record Sent(ClusterCommand command, CoordinatorState savedBefore) {}

        final StateStore store;
        final Map<QueryId, Long> held;
        final List<Sent> sent = new ArrayList<>();
        boolean coordinator;
        boolean delivering = true;
        private long sequence;

        ProcessTransport(StateStore store, Map<QueryId, Long> held)
        {
            this.store = store;
            this.held = held;
        }

        @Override
        public void start(ClusterTransportContext context) {}

        @Override
        public void publish(List<NodeSnapshot> localNodes) {}

        @Override
        public boolean isCoordinator()
        {
            return coordinator;
        }

        @Override
        public List<NodeSnapshot> clusterSnapshots()
        {
            long reserved = held.values().stream().mapToLong(Long::longValue).sum();
            MemoryPoolInfo pool = new MemoryPoolInfo("general", POOL_BYTES, reserved, 0, Map.copyOf(held), Map.of(), Map.of(), Map.of(), Map.of());
            List<QuerySnapshot> queries = held.entrySet().stream()
                    .map(entry -> new QuerySnapshot(entry.getKey(), "user", RetryPolicy.NONE, 0, false, Long.MAX_VALUE, Long.MAX_VALUE, Instant.EPOCH,
                            QueryState.RUNNING, null, null, null, entry.getValue(), 0, 0, List.of()))
                    .toList();
            return List.of(new NodeSnapshot(NODE, ++sequence, Instant.EPOCH, List.of(pool), 0, queries));
        }

        @Override
        public void send(ClusterCommand command)
        {
            sent.add(new Sent(command, store.saved));
            if (delivering && command instanceof ClusterCommand.KillQuery kill) {
                held.remove(kill.queryId());
            }
        }

        @Override
        public void saveCoordinatorState(CoordinatorState state)
        {
            store.saved = state;
        }

        @Override
        public Optional<CoordinatorState> loadCoordinatorState()
        {
            return Optional.ofNullable(store.saved);
        }

        @Override
        public void close() {}

        List<ClusterCommand> commands()
        {
            return sent.stream().map(Sent::command).toList();
        }
    }

    private static ClusterMemoryManager manager(ClusterTransport transport)
    {
        return new ClusterMemoryManager(MemoryEngineConfig.fromMap(Map.of()), transport, List::of, Clock.systemUTC(), MetricsSink.NONE,
                new ClusterPolicies(LowMemoryKiller.NONE, "none", LARGEST, "largest", MemoryLeakDetector.NONE, "none", MemoryPoolAssigner.NONE, "none"),
                new PolicyCallGuard(Duration.ZERO));
    }

    private static Map<QueryId, Long> blockedNode()
    {
        // 70 + 50 of a pool of 100: blocked; killing q1 is enough, and q2 must live
        Map<QueryId, Long> held = new LinkedHashMap<>();
        held.put(QueryId.of("q1"), 70L);
        held.put(QueryId.of("q2"), 50L);
        return held;
    }

    @Test
    void theSavedStateNamesTheVictimBeforeTheKillIsSent()
    {
        ProcessTransport transport = new ProcessTransport(new StateStore(), blockedNode());
        transport.coordinator = true;

        manager(transport).process();

        // a coordinator that dies right after sending must not leave a state without its victim: the next one would kill again
        assertThat(transport.sent).singleElement().satisfies(sent -> {
            assertThat(sent.command()).isEqualTo(new ClusterCommand.KillQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY,
                    ClusterMemoryManager.QUERY_KILLED_MESSAGE));
            assertThat(sent.savedBefore()).isNotNull();
            assertThat(sent.savedBefore().killedQueries()).containsExactly(QueryId.of("q1"));
        });
    }

    @Test
    void aNewCoordinatorResendsTheLastKillAndKillsNothingElseWhileTheVictimHoldsMemory()
    {
        StateStore store = new StateStore();
        Map<QueryId, Long> held = blockedNode();
        ProcessTransport first = new ProcessTransport(store, held);
        ProcessTransport second = new ProcessTransport(store, held);
        ClusterMemoryManager firstManager = manager(first);
        ClusterMemoryManager secondManager = manager(second);

        // the first coordinator decides to kill q1 and dies before the kill reaches the node
        first.coordinator = true;
        first.delivering = false;
        firstManager.process();
        assertThat(first.commands()).extracting(command -> ((ClusterCommand.KillQuery) command).queryId()).containsExactly(QueryId.of("q1"));
        assertThat(held).containsKey(QueryId.of("q1"));

        // the role moves: the next coordinator delivers the kill it inherited, and no second one while q1 still holds memory
        first.coordinator = false;
        second.coordinator = true;
        second.delivering = false;
        secondManager.process();
        secondManager.process();
        assertThat(second.commands()).containsExactly(new ClusterCommand.KillQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY,
                ClusterMemoryManager.QUERY_KILLED_MESSAGE));
        assertThat(secondManager.queriesKilledDueToOutOfMemory()).isZero();
        assertThat(secondManager.coordinatorState().killedQueries()).containsExactly(QueryId.of("q1"));

        // once q1 is gone the cluster has room again: q2 lives
        held.remove(QueryId.of("q1"));
        secondManager.process();
        assertThat(second.commands()).hasSize(1);
        assertThat(held).containsOnlyKeys(QueryId.of("q2"));
    }
}
