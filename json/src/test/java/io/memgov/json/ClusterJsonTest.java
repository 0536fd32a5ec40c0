package io.memgov.json;

import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class ClusterJsonTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");
    private static final TaskId T1 = TaskId.of(Q1, "0");
    private static final TaskId T2 = TaskId.of(Q2, "3");
    private static final Instant NOW = Instant.parse("2024-01-01T12:00:00Z");

    static NodeSnapshot snapshot()
    {
        MemoryPoolInfo general = new MemoryPoolInfo("general", 1000, 700, 50, Map.of(Q1, 600L, Q2, 100L),
                Map.of(Q1, List.of(new MemoryAllocation("HashAggregation", 500), new MemoryAllocation("Exchange", 100)), Q2, List.of(new MemoryAllocation("OrderBy", 100))),
                Map.of(Q2, 50L), Map.of(T1, 600L, T2, 100L), Map.of(T2, 50L));
        QuerySnapshot running = new QuerySnapshot(Q1, "alice", RetryPolicy.TASK, 3, true, 5000, Long.MAX_VALUE, NOW.minusSeconds(5), QueryState.RUNNING, null,
                null, null, 600, 20, 0, List.of(new TaskSnapshot(T1, true, Duration.ofMillis(4500), 600, 20, 0, null)), 1500.25, 1600.5);
        QuerySnapshot killed = new QuerySnapshot(Q2, "bob", RetryPolicy.NONE, 0, false, Long.MAX_VALUE, 9000, NOW.minusSeconds(9), QueryState.FAILED, NOW,
                ErrorCode.CLUSTER_OUT_OF_MEMORY, "Query killed because the cluster is out of memory.", 100, 0, 50,
                List.of(new TaskSnapshot(T2, false, Duration.ofNanos(17), 100, 0, 50, ErrorCode.CLUSTER_OUT_OF_MEMORY)));
        return new NodeSnapshot(NodeId.of("node-0"), 42, NOW, List.of(general, MemoryPoolInfo.empty("reserved", 300)), 7, List.of(running, killed));
    }

    @Test
    void everyDocumentReadsBackEqualToWhatWasWritten()
    {
        NodeSnapshot snapshot = snapshot();
        assertThat(ClusterJson.readNodeSnapshot(ClusterJson.write(snapshot))).isEqualTo(snapshot);
        for (ClusterCommand command : List.of(
                new ClusterCommand.KillQuery(Q1, ErrorCode.CLUSTER_OUT_OF_MEMORY, "out of memory"),
                new ClusterCommand.KillTasks(Set.of(T1, T2), ErrorCode.NODE_LOST, "node left"),
                new ClusterCommand.AssignPools(new MemoryPoolAssignment(3, Map.of(Q1, "reserved"))))) {
            assertThat(ClusterJson.readCommand(ClusterJson.write(command))).isEqualTo(command);
        }
        CoordinatorState state = new CoordinatorState(Set.of(Q1), Set.of(T2), NOW, NOW.minusSeconds(1), new MemoryPoolAssignment(2, Map.of(Q2, "reserved")));
        assertThat(ClusterJson.readCoordinatorState(ClusterJson.write(state))).isEqualTo(state);
        assertThat(ClusterJson.readCoordinatorState(ClusterJson.write(CoordinatorState.initial()))).isEqualTo(CoordinatorState.initial());
    }

    @Test
    void writesTheDocumentedShape()
    {
        // the fields a transport written in another language relies on: Trino's pool names, ids as strings, nulls for unset limits
        String json = ClusterJson.write(snapshot());
        assertThat(json).startsWith("{\"version\":1,\"type\":\"node-snapshot\",\"node\":\"node-0\",\"sequence\":42,\"takenAt\":\"2024-01-01T12:00:00Z\",\"assignmentVersion\":7,");
        assertThat(json).contains("\"queryMemoryReservations\":{\"q1\":600,\"q2\":100}");
        assertThat(json).contains("\"queryMemoryAllocations\":{\"q1\":[{\"tag\":\"HashAggregation\",\"allocation\":500},{\"tag\":\"Exchange\",\"allocation\":100}]");
        assertThat(json).contains("\"taskMemoryRevocableReservations\":{\"q2.3\":50}");
        assertThat(json).contains("\"maxMemoryBytes\":5000,\"maxTotalMemoryBytes\":null");
        assertThat(json).contains("\"failure\":{\"errorCode\":\"CLUSTER_OUT_OF_MEMORY\",\"message\":\"Query killed because the cluster is out of memory.\"}");
        assertThat(ClusterJson.write(new ClusterCommand.KillQuery(Q1, ErrorCode.CLUSTER_OUT_OF_MEMORY, "m")))
                .isEqualTo("{\"version\":1,\"type\":\"kill-query\",\"query\":\"q1\",\"errorCode\":\"CLUSTER_OUT_OF_MEMORY\",\"message\":\"m\"}");
    }

    @Test
    void writesAndReadsTheCumulativeMemoryOfAQueryAndReadsAnOlderDocumentWithoutItAsZero()
    {
        // Presto's cumulative user and total memory, added to version 1 as optional fields
        String json = ClusterJson.write(snapshot());
        assertThat(json).contains("\"revocableBytes\":0,\"cumulativeUserMemoryByteSeconds\":1500.25,\"cumulativeTotalMemoryByteSeconds\":1600.5,\"tasks\"");
        QuerySnapshot read = ClusterJson.readNodeSnapshot(json).queries().get(0);
        assertThat(read.cumulativeUserMemoryByteSeconds()).isEqualTo(1500.25);
        assertThat(read.cumulativeTotalMemoryByteSeconds()).isEqualTo(1600.5);

        // a document an older writer wrote, as ClusterJson of memgov 1.0 wrote it
        String older = json.replaceAll("\"cumulative(User|Total)MemoryByteSeconds\":[0-9.]+,", "");
        assertThat(older).doesNotContain("cumulative");
        QuerySnapshot olderQuery = ClusterJson.readNodeSnapshot(older).queries().get(0);
        assertThat(olderQuery.cumulativeUserMemoryByteSeconds()).isZero();
        assertThat(olderQuery.cumulativeTotalMemoryByteSeconds()).isZero();
        assertThat(olderQuery.userBytes()).isEqualTo(600);
    }

    @Test
    void refusesWhatItCannotReadNamingTheField()
    {
        String good = ClusterJson.write(snapshot());
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot("not json")).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Not a JSON document");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot("[1]")).hasMessage("Expected a JSON object, got array");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"version\":1", "\"version\":2"))).hasMessage("Invalid value '2' for 'version': expected 1");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"sequence\":42", "\"sequence\":\"42\""))).hasMessage("Invalid value \"42\" for 'sequence': expected a whole number, got string");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"takenAt\":\"2024-01-01T12:00:00Z\"", "\"takenAt\":\"noon\"")))
                .hasMessageStartingWith("Invalid value 'noon' for 'takenAt': expected an ISO-8601 instant");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"state\":\"RUNNING\"", "\"state\":\"DANCING\"")))
                .hasMessageStartingWith("Invalid value 'DANCING' for 'state': expected one of [RUNNING, FINISHED, FAILED]");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"userBytes\":600", "\"userBytes\":-600")))
                .hasMessage("userBytes is negative: -600");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace(",\"assignmentVersion\":7", ""))).hasMessage("Missing field 'assignmentVersion'");
        assertThatThrownBy(() -> ClusterJson.readCommand("{\"version\":1,\"type\":\"reboot\"}")).hasMessage("Invalid value 'reboot' for 'type': expected kill-query, kill-tasks or assign-pools");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"cumulativeUserMemoryByteSeconds\":1500.25", "\"cumulativeUserMemoryByteSeconds\":\"lots\"")))
                .hasMessage("Invalid value \"lots\" for 'cumulativeUserMemoryByteSeconds': expected a number, got string");
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"cumulativeUserMemoryByteSeconds\":1500.25", "\"cumulativeUserMemoryByteSeconds\":-1.0")))
                .hasMessage("cumulativeUserMemoryByteSeconds is not a non-negative finite number: -1.0");
        // a newer writer may add fields
        assertThat(ClusterJson.readNodeSnapshot(good.replace("\"sequence\":42", "\"sequence\":42,\"heap\":{\"liveBytes\":1}"))).isEqualTo(snapshot());
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(good.replace("\"sequence\":42", "\"sequence\":42,\"arbitrating\":\"yes\"")))
                .hasMessage("Invalid value \"yes\" for 'arbitrating': expected true or false, got string");
    }

    @Test
    void aNodeWithAnArbitrationAtWorkSaysSoAndOneWithoutWritesNothingNew()
    {
        NodeSnapshot plain = snapshot();
        NodeSnapshot arbitrating = new NodeSnapshot(plain.nodeId(), plain.sequence(), plain.takenAt(), plain.pools(), plain.assignmentVersion(), plain.queries(), true);

        assertThat(ClusterJson.write(arbitrating)).contains("\"assignmentVersion\":7,\"arbitrating\":true,");
        assertThat(ClusterJson.readNodeSnapshot(ClusterJson.write(arbitrating))).isEqualTo(arbitrating);
        // the field is written only when true: the document of a node without arbitration is as before
        assertThat(ClusterJson.write(plain)).doesNotContain("arbitrating");
        assertThat(ClusterJson.readNodeSnapshot(ClusterJson.write(plain)).arbitrating()).isFalse();
    }

    @Test
    void aDirectPoolKeepsItsKindAndAPoolWrittenBeforeKindsReadsAsAHeapPool()
    {
        MemoryPoolInfo direct = new MemoryPoolInfo("direct", 800, 300, 0, Map.of(Q1, 300L), Map.of(Q1, List.of(new MemoryAllocation("ArrowScan", 300))),
                Map.of(), Map.of(T1, 300L), Map.of(), MemoryPoolKind.DIRECT);
        NodeSnapshot base = snapshot();
        NodeSnapshot withDirect = new NodeSnapshot(base.nodeId(), base.sequence(), base.takenAt(), List.of(base.pools().get(0), direct), base.assignmentVersion(),
                base.queries());

        String json = ClusterJson.write(withDirect);
        assertThat(json).contains("{\"id\":\"general\",\"kind\":\"HEAP\",").contains("{\"id\":\"direct\",\"kind\":\"DIRECT\",");
        NodeSnapshot read = ClusterJson.readNodeSnapshot(json);
        assertThat(read).isEqualTo(withDirect);
        assertThat(read.memoryInfo().directPool()).contains(direct);

        // a document of the first format has no kind: its pools are heap pools, and reads as it did
        String old = ClusterJson.write(base).replace("\"kind\":\"HEAP\",", "");
        assertThat(old).doesNotContain("kind");
        assertThat(ClusterJson.readNodeSnapshot(old)).isEqualTo(base);
        assertThatThrownBy(() -> ClusterJson.readNodeSnapshot(json.replace("\"kind\":\"DIRECT\"", "\"kind\":\"GPU\"")))
                .hasMessageStartingWith("Invalid value 'GPU' for 'kind': expected one of [HEAP, DIRECT]");
    }
}
