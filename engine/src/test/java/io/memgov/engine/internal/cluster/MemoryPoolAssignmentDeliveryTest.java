package io.memgov.engine.internal.cluster;

import io.memgov.engine.MemoryEngineConfig;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import static org.assertj.core.api.Assertions.assertThat;
import java.time.Duration;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.spi.killer.LowMemoryKiller;



/**
 * The cluster loop's side of pool assignments: versions, delivery, and asking the assigner again only once every
 * node applied the previous decision (Presto's "all assignments have propagated").
 */
final class MemoryPoolAssignmentDeliveryTest
{
    private static final NodeId N0 = NodeId.of("n0");
    private static final NodeId N1 = NodeId.of("n1");

    /** Two nodes with two pools each; a node can be made unreachable, and then keeps the version it had. */
    private static final class ScriptedTransport
            extends CoordinatorTransportStub
    {
        final Set<NodeId> unreachable = new HashSet<>();
        final Map<NodeId, Long> applied = new HashMap<>(Map.of(N0, 0L, N1, 0L));
        final List<Long> deliveries = new CopyOnWriteArrayList<>();
        private long sequence;

        @Override
        public List<NodeSnapshot> clusterSnapshots()
        {
            return List.of(node(N0), node(N1));
        }

        private NodeSnapshot node(NodeId nodeId)
        {
            return new NodeSnapshot(nodeId, ++sequence, Instant.EPOCH, List.of(MemoryPoolInfo.empty("general", 100), MemoryPoolInfo.empty("reserved", 50)),
                    applied.get(nodeId), List.of());
        }

        @Override
        public void send(ClusterCommand command)
        {
            if (!(command instanceof ClusterCommand.AssignPools assign)) {
                throw new AssertionError("unexpected command " + command);
            }
            MemoryPoolAssignment assignment = assign.assignment();
            deliveries.add(assignment.version());
            for (NodeId node : List.of(N0, N1)) {
                if (!unreachable.contains(node)) {
                    applied.merge(node, assignment.version(), Math::max);
                }
            }
        }
    }

    private static final MemoryLeakDetector NO_LEAKS = MemoryLeakDetector.NONE;
    private static final LowMemoryKiller NO_KILL = LowMemoryKiller.NONE;

    @Test
    void asksTheAssignerAgainOnlyOnceEveryNodeAppliedTheLastVersionAndRedeliversItMeanwhile()
    {
        ScriptedTransport transport = new ScriptedTransport();
        AtomicInteger asked = new AtomicInteger();
        // decides something new every time it is asked, so each question makes a version
        MemoryPoolAssigner assigner = (nodes, running, current) -> Map.of(QueryId.of("q" + asked.incrementAndGet()), "reserved");
        ClusterMemoryManager manager = new ClusterMemoryManager(MemoryEngineConfig.fromMap(Map.of()), transport, List::of,
                Clock.systemUTC(), MetricsSink.NONE,
                new ClusterPolicies(NO_KILL, "none", NO_KILL, "none", NO_LEAKS, "none", assigner, "scripted"), new PolicyCallGuard(Duration.ZERO));

        transport.unreachable.add(N1);
        manager.process();
        assertThat(asked).hasValue(1);
        assertThat(manager.assignment().version()).isEqualTo(1);
        assertThat(transport.applied).isEqualTo(Map.of(N0, 1L, N1, 0L));

        // n1 missed version 1: no new decision, version 1 goes out again
        manager.process();
        manager.process();
        assertThat(asked).hasValue(1);
        assertThat(transport.deliveries).containsExactly(1L, 1L, 1L);

        transport.unreachable.clear();
        manager.process();
        assertThat(transport.applied).isEqualTo(Map.of(N0, 1L, N1, 1L));
        assertThat(asked).hasValue(1);

        // every node has version 1 now: the assigner decides again, and the new version reaches both nodes
        manager.process();
        assertThat(asked).hasValue(2);
        assertThat(manager.assignment().version()).isEqualTo(2);
        assertThat(transport.applied).isEqualTo(Map.of(N0, 2L, N1, 2L));
        assertThat(transport.deliveries).containsExactly(1L, 1L, 1L, 1L, 2L);
    }

    @Test
    void neverAssignsWithoutAnAssignerAndKeepsTrinosOutOfMemoryRule()
    {
        ScriptedTransport transport = new ScriptedTransport();
        ClusterMemoryManager manager = new ClusterMemoryManager(MemoryEngineConfig.fromMap(Map.of()), transport, List::of,
                Clock.systemUTC(), MetricsSink.NONE,
                new ClusterPolicies(NO_KILL, "none", NO_KILL, "none", NO_LEAKS, "none", MemoryPoolAssigner.NONE, "none"), new PolicyCallGuard(Duration.ZERO));

        manager.process();

        // without an assigner the loop never sends an assignment
        assertThat(transport.deliveries).isEmpty();
        assertThat(manager.assignment()).isEqualTo(MemoryPoolAssignment.initial());
    }
}
