package io.memgov.engine.internal.visibility;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.json.MemoryJson;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** JMX attributes read back through the platform MBean server, and the {@code /v1/memory} JSON read back with Jackson. */
final class VisibilityTest
{
    private static final long MB = 1024 * 1024;
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    private static MemoryEngine engine(String jmxName)
    {
        return MemoryEngine.builder().withoutClassPathDiscovery()
                .jmxName(jmxName)
                .plugin(new LargestQueryKillerPlugin())
                .property("query.low-memory-killer.policy", "largest-query")
                .properties(Map.of(
                        "node.heap-size", "30MB",
                        "memory.heap-headroom-per-node", "10MB",
                        "query.max-memory-per-node", "20MB",
                        "cluster.node-count", "2",
                        "memory.cluster.poll-interval", "1h",
                        // the snapshots are checked against the bytes set
                        "memory.reservation-quantum", "0B"))
                .build();
    }

    @Test
    void poolAndClusterManagerAttributesAreReadableThroughThePlatformMBeanServer()
            throws Exception
    {
        try (MemoryEngine engine = engine("visibility-test")) {
            String name = engine.jmxName().orElseThrow();
            OperatorMemoryContext big = engine.node(0).createQuery(QueryId.of("big"), QuerySession.of("alice")).addTask("0").addOperator("HashAggregation");
            big.userMemory().setBytes(20 * MB);
            OperatorMemoryContext small = engine.node(1).createQuery(QueryId.of("small"), QuerySession.of("bob")).addTask("0").addOperator("OrderBy");
            small.userMemory().setBytes(3 * MB);
            small.revocableMemory().setBytes(2 * MB);

            ObjectName node0 = new ObjectName("io.memgov:type=MemoryPool,engine=" + name + ",node=node-0,name=general");
            assertThat(SERVER.getAttribute(node0, "MaxBytes")).isEqualTo(20 * MB);
            assertThat(SERVER.getAttribute(node0, "ReservedBytes")).isEqualTo(20 * MB);
            assertThat(SERVER.getAttribute(node0, "FreeBytes")).isEqualTo(0L);
            assertThat(SERVER.getAttribute(node0, "BlockedNodes")).isEqualTo(1);
            assertThat(SERVER.getAttribute(node0, "AssignedQueries")).isEqualTo(1);

            ObjectName node1 = new ObjectName("io.memgov:type=MemoryPool,engine=" + name + ",node=node-1,name=general");
            assertThat(SERVER.getAttribute(node1, "ReservedRevocableBytes")).isEqualTo(2 * MB);
            assertThat(SERVER.getAttribute(node1, "FreeBytes")).isEqualTo(15 * MB);
            assertThat(SERVER.getAttribute(node1, "BlockedNodes")).isEqualTo(0);

            ObjectName cluster = new ObjectName("io.memgov:type=ClusterMemoryPool,engine=" + name + ",name=general");
            assertThat(SERVER.getAttribute(cluster, "MaxBytes")).isEqualTo(40 * MB);
            assertThat(SERVER.getAttribute(cluster, "ReservedBytes")).isEqualTo(23 * MB);
            assertThat(SERVER.getAttribute(cluster, "ReservedRevocableBytes")).isEqualTo(2 * MB);
            assertThat(SERVER.getAttribute(cluster, "FreeBytes")).isEqualTo(15 * MB);
            assertThat(SERVER.getAttribute(cluster, "BlockedNodes")).isEqualTo(1);
            assertThat(SERVER.getAttribute(cluster, "AssignedQueries")).isEqualTo(2);
            assertThat(SERVER.getAttribute(cluster, "Nodes")).isEqualTo(2);

            // the manager's counters move with the loop: one round, node-0 blocked, the killer picks "big"
            ObjectName heap = new ObjectName("io.memgov:type=Heap,engine=" + name);
            assertThat(SERVER.getAttribute(heap, "Governed")).isEqualTo(true);
            assertThat(SERVER.getAttribute(heap, "MaxHeapBytes")).isEqualTo(Runtime.getRuntime().maxMemory());
            assertThat((Long) SERVER.getAttribute(heap, "FullCollections")).isNotNegative();
            assertThat((Double) SERVER.getAttribute(heap, "GcTimeFraction")).isBetween(0.0, 1.0);
            assertThat(SERVER.getAttribute(heap, "QueriesKilledDueToHeapPressure")).isEqualTo(0L);

            // 'big' left node-0's pool exactly full, which blocks it (Trino's rule); the arbitrator 'none' only counts
            ObjectName arbitration = new ObjectName("io.memgov:type=Arbitration,engine=" + name);
            assertThat(SERVER.getAttribute(arbitration, "Arbitrator")).isEqualTo("none");
            assertThat(SERVER.getAttribute(arbitration, "BlockedReservations")).isEqualTo(1L);
            assertThat(SERVER.getAttribute(arbitration, "Arbitrations")).isEqualTo(0L);
            assertThat(SERVER.getAttribute(arbitration, "Reliefs")).isEqualTo(0L);

            ObjectName manager = new ObjectName("io.memgov:type=ClusterMemoryManager,engine=" + name);
            assertThat(SERVER.getAttribute(manager, "QueriesKilledDueToOutOfMemory")).isEqualTo(0L);
            engine.cluster().process();
            assertThat(SERVER.getAttribute(manager, "BlockedNodes")).isEqualTo(1);
            assertThat(SERVER.getAttribute(manager, "ClusterUserMemoryReservation")).isEqualTo(23 * MB);
            assertThat(SERVER.getAttribute(manager, "ClusterTotalMemoryReservation")).isEqualTo(25 * MB);
            assertThat(SERVER.getAttribute(manager, "QueriesKilledDueToOutOfMemory")).isEqualTo(1L);
            assertThat(SERVER.getAttribute(manager, "NumberOfLeakedQueries")).isEqualTo(0);
            assertThat(SERVER.getAttribute(node0, "ReservedBytes")).isEqualTo(0L);
            // the kill gave node-0's pool room again: its blocked reservation counts as relieved
            assertThat(SERVER.getAttribute(arbitration, "Reliefs")).isEqualTo(1L);
            assertThat((Double) SERVER.getAttribute(arbitration, "ReliefP99Millis")).isPositive();
            // held to the end: their bytes are asserted long after their last use, and the cleaner releases forgotten contexts
            java.lang.ref.Reference.reachabilityFence(big);
            java.lang.ref.Reference.reachabilityFence(small);
        }
    }

    /** A killer for this test only: the query with the largest reservation over all nodes. */
    private static final class LargestQueryKillerPlugin
            implements MemoryPlugin
    {
        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            return List.of(new LowMemoryKillerFactory()
            {
                @Override
                public String name()
                {
                    return "largest-query";
                }

                @Override
                public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                {
                    return (queries, nodes) -> queries.stream()
                            .max(Comparator.comparingLong(RunningQueryInfo::totalReservationBytes))
                            .map(query -> KillTarget.wholeQuery(query.queryId()));
                }
            });
        }
    }

    @Test
    void closingTheEngineUnregistersItsMBeansAndASecondEngineGetsItsOwnName()
            throws Exception
    {
        MemoryEngine first = engine("twins");
        MemoryEngine second = engine("twins");
        try {
            assertThat(first.jmxName()).contains("twins");
            assertThat(second.jmxName()).contains("twins-2");
            assertThat(SERVER.isRegistered(new ObjectName("io.memgov:type=ClusterMemoryManager,engine=twins-2"))).isTrue();
        }
        finally {
            first.close();
            second.close();
        }
        assertThat(SERVER.queryNames(new ObjectName("io.memgov:engine=twins,*"), null)).isEmpty();
        assertThat(SERVER.queryNames(new ObjectName("io.memgov:engine=twins-2,*"), null)).isEmpty();
    }

    @Test
    void aBadEngineNameIsRefusedWithTheValueAndWhatIsAccepted()
    {
        assertThatThrownBy(() -> engine("a,b"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("JMX engine name 'a,b' is not accepted: use letters, digits, '.', '_' and '-'");
    }

    @Test
    void theNodeJsonHoldsEveryQueryTaskAndTagAndTheClusterJsonSumsTheNodes()
            throws Exception
    {
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().withoutJmx()
                .properties(Map.of(
                        "node.heap-size", "30MB",
                        "memory.heap-headroom-per-node", "10MB",
                        "query.max-memory-per-node", "20MB",
                        "cluster.node-count", "2",
                        "memory.cluster.poll-interval", "1h",
                        // the JSON is checked against the bytes set
                        "memory.reservation-quantum", "0B"))
                .build()) {
            assertThat(engine.jmxName()).isEmpty();
            TaskMemoryContext task = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("3");
            // the operators are held to the end: a context the host forgets is released by the engine's cleaner
            List<OperatorMemoryContext> held = List.of(task.addOperator("HashAggregation"), task.addOperator("OrderBy"), task.addOperator("Sort"),
                    engine.node(1).createQuery(QueryId.of("q2"), QuerySession.of("bob")).addTask("0").addOperator("Exchange"));
            held.get(0).userMemory().setBytes(4 * MB);
            held.get(1).systemMemory().setBytes(MB);
            held.get(2).revocableMemory().setBytes(2 * MB);
            held.get(3).userMemory().setBytes(6 * MB);

            ObjectMapper mapper = new ObjectMapper();
            JsonNode node = mapper.readTree(MemoryJson.toJson(engine.nodeMemorySnapshot(0)));
            assertThat(node.get("nodeId").asText()).isEqualTo("node-0");
            JsonNode general = node.get("pools").get("general");
            assertThat(general.get("maxBytes").asLong()).isEqualTo(20 * MB);
            assertThat(general.get("reservedBytes").asLong()).isEqualTo(5 * MB);
            assertThat(general.get("reservedRevocableBytes").asLong()).isEqualTo(2 * MB);
            assertThat(general.get("freeBytes").asLong()).isEqualTo(13 * MB);
            assertThat(general.get("queryMemoryReservations").get("q1").asLong()).isEqualTo(5 * MB);
            assertThat(general.get("queryMemoryRevocableReservations").get("q1").asLong()).isEqualTo(2 * MB);
            assertThat(general.get("taskMemoryReservations").get("q1.3").asLong()).isEqualTo(5 * MB);
            assertThat(general.get("queryMemoryAllocations").get("q1").findValuesAsText("tag")).containsExactlyInAnyOrder("HashAggregation", "OrderBy");

            JsonNode cluster = mapper.readTree(MemoryJson.toJson(engine.clusterMemorySnapshot()));
            JsonNode pool = cluster.get("pools").get("general");
            assertThat(pool.get("totalDistributedBytes").asLong()).isEqualTo(40 * MB);
            assertThat(pool.get("reservedDistributedBytes").asLong()).isEqualTo(11 * MB);
            assertThat(pool.get("assignedQueries").asInt()).isEqualTo(2);
            assertThat(pool.get("largestMemoryQuery").asText()).isEqualTo("q1");
            assertThat(cluster.get("nodes")).hasSize(2);
            assertThat(cluster.get("nodes").get(1).get("pools").get("general").get("queryMemoryReservations").get("q2").asLong()).isEqualTo(6 * MB);
            // the real heap beside the pools: the figures the effective maxima follow
            JsonNode heap = cluster.get("heap");
            assertThat(heap.get("governed").asBoolean()).isTrue();
            assertThat(heap.get("maxHeapBytes").asLong()).isEqualTo(Runtime.getRuntime().maxMemory());
            assertThat(heap.get("nodes").get("node-1").get("poolBytes").asLong()).isEqualTo(20 * MB);
            assertThat(heap.get("nodes").get("node-1").get("effectiveMaxBytes").asLong()).isBetween(2 * MB, 20 * MB);
            assertThat(heap.has("gcTimeFraction")).isTrue();

            engine.failQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed");
            assertThat(mapper.readTree(MemoryJson.toJson(engine.nodeMemorySnapshot(0))).get("pools").get("general").get("reservedBytes").asLong()).isZero();
            java.lang.ref.Reference.reachabilityFence(held);
        }
    }
}
