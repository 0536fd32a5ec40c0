package io.memgov.engine.internal.cluster;

import io.memgov.engine.MemoryEngineConfig;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each node bounds its own figures, but nothing bounds their sum over a cluster (and a transport may deliver a
 * hostile snapshot): the loop's sums saturate at {@link Long#MAX_VALUE} instead of wrapping negative, which would let a
 * query holding more than any limit pass every limit.
 */
final class ClusterSumOverflowTest
{
    private static final QueryId QUERY = QueryId.of("q1");
    // two of these wrap a long
    private static final long HALF_AND_ONE = Long.MAX_VALUE / 2 + 1;

    @Test
    void sumsOverNodesSaturateInsteadOfWrapping()
    {
        ClusterView view = new ClusterView(List.of(node("n1", HALF_AND_ONE), node("n2", HALF_AND_ONE)), Instant.EPOCH);

        assertThat(view.userReservations()).containsEntry(QUERY, Long.MAX_VALUE);
        assertThat(view.totalReservations()).containsEntry(QUERY, Long.MAX_VALUE);
        assertThat(view.runningQueries()).singleElement().satisfies(query -> {
            assertThat(query.totalReservationBytes()).isEqualTo(Long.MAX_VALUE);
            assertThat(query.tasks().values()).allSatisfy(task -> assertThat(task.reservedBytes()).isEqualTo(Long.MAX_VALUE));
        });
    }

    @Test
    void aQueryWhoseClusterSumWouldWrapIsKilledForTheDistributedLimit()
    {
        RecordingTransport transport = new RecordingTransport(List.of(node("n1", HALF_AND_ONE), node("n2", HALF_AND_ONE)));
        ClusterMemoryManager manager = new ClusterMemoryManager(MemoryEngineConfig.fromMap(Map.of()), transport, List::of, Clock.systemUTC(), MetricsSink.NONE,
                new ClusterPolicies(LowMemoryKiller.NONE, "none", LowMemoryKiller.NONE, "none", MemoryLeakDetector.NONE, "none", MemoryPoolAssigner.NONE, "none"),
                new PolicyCallGuard(Duration.ZERO));

        manager.process();

        assertThat(transport.sent).singleElement().satisfies(command -> {
            assertThat(command).isInstanceOf(ClusterCommand.KillQuery.class);
            ClusterCommand.KillQuery kill = (ClusterCommand.KillQuery) command;
            assertThat(kill.queryId()).isEqualTo(QUERY);
            assertThat(kill.errorCode()).isEqualTo(ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT);
        });
        assertThat(manager.clusterUserMemoryReservation()).isEqualTo(Long.MAX_VALUE);
        assertThat(manager.clusterTotalMemoryReservation()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void saturatedAddKeepsExactSumsAndClampsBothWays()
    {
        assertThat(ClusterView.saturatedAdd(40, 2)).isEqualTo(42);
        assertThat(ClusterView.saturatedAdd(Long.MAX_VALUE - 1, 1)).isEqualTo(Long.MAX_VALUE);
        assertThat(ClusterView.saturatedAdd(Long.MAX_VALUE, Long.MAX_VALUE)).isEqualTo(Long.MAX_VALUE);
        assertThat(ClusterView.saturatedAdd(Long.MIN_VALUE, -1)).isEqualTo(Long.MIN_VALUE);
    }

    /** One node whose pool gives the query {@code bytes} of user memory in one task. */
    private static NodeSnapshot node(String nodeId, long bytes)
    {
        // the same task id on both nodes, as a task whose memory two pools hold
        TaskId task = TaskId.of(QUERY, "task");
        MemoryPoolInfo pool = new MemoryPoolInfo("general", Long.MAX_VALUE, bytes, 0, Map.of(QUERY, bytes), Map.of(), Map.of(), Map.of(task, bytes), Map.of());
        QuerySnapshot query = new QuerySnapshot(QUERY, "user", RetryPolicy.NONE, 0, false, Long.MAX_VALUE, Long.MAX_VALUE, Instant.EPOCH,
                QueryState.RUNNING, null, null, null, bytes, 0, 0, List.of(new TaskSnapshot(task, false, Duration.ZERO, bytes, 0, 0, null)));
        return new NodeSnapshot(NodeId.of(nodeId), 1, Instant.EPOCH, List.of(pool), 0, List.of(query));
    }

    private static final class RecordingTransport
            extends CoordinatorTransportStub
    {
        final List<ClusterCommand> sent = new ArrayList<>();
        private final List<NodeSnapshot> snapshots;

        RecordingTransport(List<NodeSnapshot> snapshots)
        {
            this.snapshots = snapshots;
        }

        @Override
        public List<NodeSnapshot> clusterSnapshots()
        {
            return snapshots;
        }

        @Override
        public void send(ClusterCommand command)
        {
            sent.add(command);
        }
    }
}
