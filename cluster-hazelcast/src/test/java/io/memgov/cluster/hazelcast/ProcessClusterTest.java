package io.memgov.cluster.hazelcast;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.topic.ITopic;
import io.memgov.json.ClusterJson;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three engines in three JVMs on 127.0.0.1 (-Xmx96m each), each hosting one node, joined by the Hazelcast cluster
 * transport with a shared secret: the coordinator's loop governs all three nodes through snapshots and commands, and
 * keeps doing so when a process dies. Each worker is an {@link EngineWorker} driven over its standard input.
 *
 * <p>The tests share the workers, which take seconds to start on two cores: each test starts from every node idle
 * and closes what it opened; a test that kills a worker leaves it to the next one to start a new worker for that node
 * (and for every younger one, so that the members' ages, and so the coordinator's succession, follow the node
 * numbers). The test that kills the coordinator runs last. Each test sees only the lines its workers printed since
 * it began.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
final class ProcessClusterTest
{
    private static final long MB = 1 << 20;
    private static final int NODES = 3;
    // each node governs a 64MB pool; the reservations below are accounted bytes, not allocations
    private static final String POOL = "64MB";
    // memgov's default; detecting a dead process takes about half a second on loopback, and the next round comes
    // within one interval
    private static final Duration POLL_INTERVAL = Duration.ofSeconds(1);
    private static final Duration TWO_POLL_INTERVALS = POLL_INTERVAL.multipliedBy(2);
    // a JVM with an engine and a Hazelcast member, on two cores shared with other builds
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration SHORT = Duration.ofSeconds(10);

    @TempDir
    static Path directory;

    private TestCluster cluster;
    private final ChildJvm[] workers = new ChildJvm[NODES];
    // the queries each worker holds open, closed after each test
    private final List<Set<String>> open = new ArrayList<>();

    @BeforeAll
    void createCluster()
            throws IOException
    {
        cluster = new TestCluster(Map.of("shared-secret-file", secretFile("cluster-secret", "the cluster's own secret, 32 bytes").toString()));
        for (int index = 0; index < NODES; index++) {
            open.add(new LinkedHashSet<>());
        }
    }

    @AfterAll
    void stopEverything()
            throws InterruptedException
    {
        try {
            for (ChildJvm worker : workers) {
                if (worker != null) {
                    worker.close();
                }
            }
        }
        finally {
            cluster.close();
        }
    }

    /** Every node idle in the coordinator's view, after starting workers for the nodes whose process is gone. */
    @BeforeEach
    void idleCluster()
            throws Exception
    {
        int firstGone = 0;
        while (firstGone < NODES && workers[firstGone] != null && workers[firstGone].isAlive()) {
            firstGone++;
        }
        for (int index = NODES - 1; index >= firstGone; index--) {
            if (workers[index] != null) {
                workers[index].close();
            }
            open.get(index).clear();
        }
        for (int index = firstGone; index < NODES; index++) {
            // one after the other, so that the members' ages follow the nodes: node-0's process coordinates, node-1's
            // takes over when it dies
            workers[index] = startWorker(index);
            workers[index].awaitLine("READY", START);
        }
        ChildJvm oldest = workers[0];
        await().atMost(START).until(() -> oldest.lastLine("COORDINATOR ").orElse("").startsWith("COORDINATOR true"));
        awaitView(workers[0], Map.of("node-0", 0L, "node-1", 0L, "node-2", 0L));
        for (ChildJvm worker : workers) {
            worker.skipPrintedLines();
        }
    }

    @AfterEach
    void closeOpenQueries()
            throws InterruptedException
    {
        for (int index = 0; index < NODES; index++) {
            if (workers[index] != null && workers[index].isAlive()) {
                for (String query : List.copyOf(open.get(index))) {
                    close(index, query);
                }
            }
            open.get(index).clear();
        }
    }

    @Test
    @Order(1)
    @Timeout(120)
    void aNodeOutOfMemoryLosesExactlyOneQueryOnThatNode()
            throws Exception
    {
        long killedBefore = status(workers[0]).get("killed");
        reserve(0, "small", 4 * MB);
        reserve(1, "small", 4 * MB);
        reserve(2, "small", 4 * MB);
        reserve(1, "mid", 20 * MB);
        reserve(2, "mid", 10 * MB);
        reserve(1, "big", 36 * MB);
        awaitView(workers[0], Map.of("node-0", 4 * MB, "node-1", 60 * MB, "node-2", 14 * MB));
        measureRounds(workers[0]);

        // node-1 at 76MB of 64MB: blocked; the largest query there goes, and nothing else
        send(1, "late", 16 * MB);
        workers[1].awaitLine("BLOCKED late", SHORT);
        String failed = workers[1].awaitLine("FAILED big ", SHORT);
        assertThat(failed).startsWith("FAILED big CLUSTER_OUT_OF_MEMORY ");
        workers[1].awaitLine("UNBLOCKED late", SHORT);
        awaitView(workers[0], Map.of("node-0", 4 * MB, "node-1", 40 * MB, "node-2", 14 * MB));
        awaitStatus(workers[0], Map.of("killed", killedBefore + 1, "cluster", 58 * MB));
        // three more rounds, and still the one failure
        await().during(POLL_INTERVAL.multipliedBy(3)).atMost(POLL_INTERVAL.multipliedBy(4))
                .until(() -> Arrays.stream(workers).mapToLong(worker -> worker.lines("FAILED").size()).sum() == 1);
        assertThat(status(workers[1])).containsEntry("reserved", 40 * MB);
        assertThat(status(workers[2])).containsEntry("reserved", 14 * MB);
    }

    @Test
    @Order(2)
    @Timeout(120)
    void aRogueMemberWithoutTheSecretCanNeitherKillNorForgeASnapshot()
            throws Exception
    {
        ChildJvm node0 = workers[0];
        ChildJvm node1 = workers[1];
        long killedBefore = status(node0).get("killed");
        reserve(1, "q1", 10 * MB);
        reserve(0, "q1", 2 * MB);
        Map<String, Long> before = Map.of("node-0", 2 * MB, "node-1", 10 * MB, "node-2", 0L);
        awaitView(node0, before);

        // a member with the cluster's name and a guessed secret: it sees the honest members as untrusted, so it starts
        Map<String, String> rogueProperties = new HashMap<>(cluster.properties());
        rogueProperties.put("shared-secret-file", secretFile("rogue-secret", "a guess at the secret, 32 bytes!").toString());
        HazelcastMembership rogue = HazelcastMembership.start(HazelcastSettings.fromProperties(rogueProperties), Set.of("node-1"), new RecordingListener());
        HazelcastInstance raw = null;
        byte[] kill = ClusterJson.write(new ClusterCommand.KillQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "forged")).getBytes(StandardCharsets.UTF_8);
        byte[] forged = ClusterJson.write(blockedSnapshot("node-1")).getBytes(StandardCharsets.UTF_8);
        try {
            rogue.sendCommand(Set.of(), kill);
            rogue.publishSnapshot("node-1", forged);
            // and in the honest members' names, to their member ids, as a plain Hazelcast member can
            raw = cluster.startRawMember("no identity");
            MessageKeys guessed = MessageKeys.fromSharedSecret("a guess at the secret, 32 bytes!".getBytes(StandardCharsets.UTF_8), cluster.settings().clusterName());
            List<UUID> honest = raw.getCluster().getMembers().stream()
                    .filter(member -> !member.localMember() && !member.getUuid().equals(rogue.localMemberId()))
                    .map(Member::getUuid)
                    .toList();
            assertThat(honest).hasSize(3);
            ITopic<byte[]> commands = raw.getTopic(HazelcastMembership.COMMAND_TOPIC);
            ITopic<byte[]> snapshots = raw.getTopic(HazelcastMembership.SNAPSHOT_TOPIC);
            commands.publish(Envelope.command(honest.get(0), 1_000_000, System.currentTimeMillis(), Set.of(), Set.copyOf(honest), kill).sign(guessed));
            snapshots.publish(Envelope.snapshot(honest.get(1), 1_000_000, System.currentTimeMillis(), "node-1", forged).sign(guessed));

            for (ChildJvm worker : workers) {
                worker.awaitLine(line -> line.contains("Refused a COMMAND from member " + rogue.localMemberId()), "the rogue's kill refused", SHORT);
                worker.awaitLine(line -> line.contains("Refused a COMMAND from member " + honest.get(0)) && line.contains("signature that does not verify"),
                        "the kill forged in an honest member's name refused", SHORT);
            }
            node0.awaitLine(line -> line.contains("Refused a SNAPSHOT from member " + honest.get(1)), "the forged snapshot refused", SHORT);
            node0.awaitLine(line -> line.contains("Member " + rogue.localMemberId()) && line.contains("is not trusted"), "the rogue not trusted", SHORT);
            // nothing killed, the view unchanged, the coordinator where it was
            await().during(POLL_INTERVAL.multipliedBy(3)).atMost(POLL_INTERVAL.multipliedBy(4))
                    .until(() -> Arrays.stream(workers).allMatch(worker -> worker.lines("FAILED").isEmpty()) && lastView(node0).equals(before));
            assertThat(status(node0)).containsEntry("coordinator", 1L).containsEntry("killed", killedBefore);
            assertThat(status(node1).get("refused")).isGreaterThanOrEqualTo(2);
        }
        finally {
            if (raw != null) {
                raw.shutdown();
            }
            rogue.close();
        }
    }

    @Test
    @Order(3)
    @Timeout(120)
    void aKilledWorkersMemoryLeavesTheViewAndItsQueriesFailWithNodeLost()
            throws Exception
    {
        ChildJvm node0 = workers[0];
        ChildJvm node1 = workers[1];
        ChildJvm node2 = workers[2];
        long killedBefore = status(node0).get("killed");
        reserve(0, "a", 8 * MB);
        reserve(2, "a", 8 * MB);
        reserve(1, "b", 6 * MB);
        reserve(2, "b", 6 * MB);
        reserve(0, "c", 5 * MB);
        reserve(1, "c", 5 * MB);
        awaitView(node0, Map.of("node-0", 13 * MB, "node-1", 11 * MB, "node-2", 14 * MB));
        // a member in this JVM that hosts no node, to time the membership's own report of the loss
        RecordingListener observed = new RecordingListener();
        long killedNanos;
        long killedMillis;
        try (HazelcastMembership observer = cluster.start(Set.of(), observed)) {
            await().atMost(SHORT).until(() -> observer.liveNodeIds().equals(Set.of("node-0", "node-1", "node-2")));

            killedNanos = System.nanoTime();
            killedMillis = System.currentTimeMillis();
            node2.destroy();

            await().atMost(TWO_POLL_INTERVALS).until(() -> !observed.lostNodes.isEmpty());
            assertThat(observed.lost()).containsExactly(Set.of("node-2"));
        }
        String view = node0.awaitLine(line -> line.startsWith("VIEW ") && Long.parseLong(line.split(" ")[1]) >= killedMillis && !line.contains("node-2="),
                "a VIEW without node-2", TWO_POLL_INTERVALS.plusSeconds(5));
        long lostMillis = TimeUnit.NANOSECONDS.toMillis(observed.lostNodes.get(0).nanos() - killedNanos);
        long leftMillis = Long.parseLong(view.split(" ")[1]) - killedMillis;
        System.out.printf("[measure] worker process killed (SIGKILL): the membership reported its node lost after %d ms, the node left the "
                + "coordinator's view after %d ms (poll interval %s)%n", lostMillis, leftMillis, PolicyConfig.format(POLL_INTERVAL));
        assertThat(leftMillis).isLessThanOrEqualTo(TWO_POLL_INTERVALS.toMillis());
        assertThat(node0.awaitLine("FAILED a ", SHORT)).startsWith("FAILED a NODE_LOST ").contains("node node-2, on which it ran, left the cluster");
        assertThat(node1.awaitLine("FAILED b ", SHORT)).startsWith("FAILED b NODE_LOST ");

        // what survives is exact, on the nodes and in the coordinator's view
        awaitView(node0, Map.of("node-0", 5 * MB, "node-1", 5 * MB));
        // the loop sets its counters after the view it prints: read them a moment later
        awaitStatus(node0, Map.of("reserved", 5 * MB, "cluster", 10 * MB));
        assertThat(status(node1)).containsEntry("reserved", 5 * MB);
        for (int survivor : List.of(0, 1)) {
            close(survivor, "c");
        }
        awaitView(node0, Map.of("node-0", 0L, "node-1", 0L));
        awaitStatus(node0, Map.of("reserved", 0L, "cluster", 0L, "killed", killedBefore));
        assertThat(status(node1)).containsEntry("reserved", 0L);
        assertThat(failuresByQuery(List.of(node0, node1))).containsOnlyKeys("a", "b");
    }

    @Test
    @Order(4)
    @Timeout(120)
    void anotherProcessTakesOverWhenTheCoordinatorsIsKilled()
            throws Exception
    {
        ChildJvm node0 = workers[0];
        ChildJvm node1 = workers[1];
        ChildJvm node2 = workers[2];
        long killedBefore = status(node1).get("killed");
        reserve(0, "on-0", 8 * MB);
        reserve(2, "on-0", 8 * MB);
        reserve(1, "victim", 30 * MB);
        reserve(2, "victim", 10 * MB);
        reserve(1, "keep", 20 * MB);
        awaitView(node0, Map.of("node-0", 8 * MB, "node-1", 50 * MB, "node-2", 18 * MB));
        // node-1 at 70MB of 64MB: the coordinator kills the largest query there, which frees enough
        send(1, "late", 20 * MB);
        node1.awaitLine("FAILED victim CLUSTER_OUT_OF_MEMORY", SHORT);
        node2.awaitLine("FAILED victim CLUSTER_OUT_OF_MEMORY", SHORT);
        node1.awaitLine("UNBLOCKED late", SHORT);

        long killedMillis = System.currentTimeMillis();
        node0.destroy();

        String taken = node1.awaitLine("COORDINATOR true", TWO_POLL_INTERVALS.plusSeconds(5));
        String firstView = node1.awaitLine(line -> line.startsWith("VIEW "), "a VIEW line", TWO_POLL_INTERVALS.plusSeconds(5));
        assertThat(firstView).doesNotContain("node-0=").contains("node-1=" + 40 * MB);
        long tookRoleMillis = Long.parseLong(taken.split(" ")[2]) - killedMillis;
        long firstRoundMillis = Long.parseLong(firstView.split(" ")[1]) - killedMillis;
        System.out.printf("[measure] coordinator process killed: node-1's process took the role after %d ms and ran its first round after %d ms "
                + "(poll interval %s)%n", tookRoleMillis, firstRoundMillis, PolicyConfig.format(POLL_INTERVAL));
        assertThat(firstRoundMillis).isLessThanOrEqualTo(TWO_POLL_INTERVALS.toMillis());
        // it carries on from the dead coordinator's state, and sends its last kill again, which nobody applies twice
        node1.awaitLine(line -> line.contains("Loaded the coordinator state the last coordinator saved: victims [victim]"), "the state", SHORT);
        node1.awaitLine(line -> line.contains("Took the coordinator role with the last kill target [victim]"), "the kill sent again", SHORT);
        // the query that ran on the dead process's node fails where it still runs
        assertThat(node2.awaitLine("FAILED on-0 ", SHORT)).startsWith("FAILED on-0 NODE_LOST ");
        awaitView(node1, Map.of("node-1", 40 * MB, "node-2", 0L));

        // a new shortage: the new coordinator kills once
        reserve(2, "new", 60 * MB);
        send(2, "new-small", 10 * MB);
        assertThat(node2.awaitLine("FAILED new ", SHORT)).startsWith("FAILED new CLUSTER_OUT_OF_MEMORY ");
        node2.awaitLine("UNBLOCKED new-small", SHORT);
        for (String query : List.of("keep", "late")) {
            close(1, query);
        }
        close(2, "new-small");
        await().during(POLL_INTERVAL.multipliedBy(2)).atMost(POLL_INTERVAL.multipliedBy(3)).until(() -> status(node1).get("killed") == killedBefore + 1);

        // no query killed twice: one failure per query and process, one reason per query
        Map<String, List<String>> failures = failuresByQuery(List.of(node1, node2));
        assertThat(failures).containsOnlyKeys("victim", "on-0", "new");
        assertThat(failures.get("victim")).containsExactly("CLUSTER_OUT_OF_MEMORY", "CLUSTER_OUT_OF_MEMORY");
        assertThat(failures.get("on-0")).containsExactly("NODE_LOST");
        assertThat(failures.get("new")).containsExactly("CLUSTER_OUT_OF_MEMORY");
        assertThat(status(node1)).containsEntry("reserved", 0L);
        awaitView(node1, Map.of("node-1", 0L, "node-2", 0L));
    }

    private ChildJvm startWorker(int index)
            throws IOException
    {
        Map<String, String> properties = new HashMap<>();
        properties.put("node.id", "node-" + index);
        properties.put("node.heap-size", POOL);
        properties.put("memory.heap-headroom-per-node", "0B");
        properties.put("query.max-memory-per-node", POOL);
        properties.put("memory.cluster.poll-interval", PolicyConfig.format(POLL_INTERVAL));
        properties.put("cluster.transport.policy", "hazelcast");
        cluster.properties().forEach((key, value) -> {
            if (!key.equals("poll-interval")) {
                properties.put("cluster.transport.hazelcast." + key, value);
            }
        });
        List<String> arguments = properties.entrySet().stream().map(entry -> entry.getKey() + "=" + entry.getValue()).sorted().toList();
        return ChildJvm.start("worker of node-" + index, "96m", ChildJvm.LEAN, EngineWorker.class, arguments);
    }

    /** Sets {@code query}'s bytes on node {@code index} without waiting for the reservation. */
    private void send(int index, String query, long bytes)
    {
        open.get(index).add(query);
        workers[index].send("reserve " + query + " " + bytes);
    }

    private void reserve(int index, String query, long bytes)
            throws InterruptedException
    {
        send(index, query, bytes);
        workers[index].awaitLine("RESERVED " + query + " " + bytes, SHORT);
    }

    private void close(int index, String query)
            throws InterruptedException
    {
        open.get(index).remove(query);
        workers[index].send("close " + query);
        workers[index].awaitLine("CLOSED " + query, SHORT);
    }

    /** Waits until the coordinator's loop last saw exactly these nodes holding exactly these bytes. */
    private static void awaitView(ChildJvm coordinator, Map<String, Long> reserved)
    {
        await().atMost(SHORT).untilAsserted(() -> assertThat(lastView(coordinator)).as("the last view of %s", coordinator).isEqualTo(reserved));
    }

    private static Map<String, Long> lastView(ChildJvm coordinator)
    {
        return coordinator.lastLine("VIEW ").map(ProcessClusterTest::parseView).orElse(Map.of());
    }

    private static Map<String, Long> parseView(String line)
    {
        Map<String, Long> nodes = new HashMap<>();
        for (String node : line.split(" ", 3)[2].split(",")) {
            String[] idAndBytes = node.split("=");
            nodes.put(idAndBytes[0], Long.parseLong(idAndBytes[1]));
        }
        return nodes;
    }

    private static Map<String, Long> status(ChildJvm worker)
            throws InterruptedException
    {
        int seen = worker.lines("STATUS").size();
        worker.send("status");
        worker.awaitLine(line -> line.startsWith("STATUS") && worker.lines("STATUS").size() > seen, "a new STATUS line", SHORT);
        List<String> lines = worker.lines("STATUS");
        Map<String, Long> values = new HashMap<>();
        for (String pair : lines.get(lines.size() - 1).substring("STATUS ".length()).split(" ")) {
            String[] keyAndValue = pair.split("=");
            values.put(keyAndValue[0], Long.parseLong(keyAndValue[1]));
        }
        return values;
    }

    private static void awaitStatus(ChildJvm worker, Map<String, Long> expected)
    {
        await().atMost(SHORT).untilAsserted(() -> assertThat(status(worker)).containsAllEntriesOf(expected));
    }

    /** The error codes each query failed with, one entry per worker that reported it. */
    private static Map<String, List<String>> failuresByQuery(List<ChildJvm> workers)
    {
        Map<String, List<String>> failures = new HashMap<>();
        for (ChildJvm worker : workers) {
            for (String line : worker.lines("FAILED ")) {
                String[] words = line.split(" ");
                failures.computeIfAbsent(words[1], ignored -> new ArrayList<>()).add(words[2]);
            }
        }
        return failures;
    }

    /** The coordinator's CPU per real round at three nodes, for the report. */
    private static void measureRounds(ChildJvm coordinator)
            throws InterruptedException
    {
        int rounds = 500;
        coordinator.send("rounds " + rounds);
        String[] measured = coordinator.awaitLine("ROUNDS " + rounds, Duration.ofSeconds(60)).split(" ");
        Map<String, Long> status = status(coordinator);
        System.out.printf("[measure] coordinator, 3 nodes in 3 JVMs (C1 only, SerialGC): %d us CPU and %d us wall per round; a node's ClusterJson "
                        + "snapshot with 3 queries: %d bytes%n",
                Long.parseLong(measured[2]) / rounds / 1000, Long.parseLong(measured[3]) / rounds / 1000, status.get("snapshot-bytes"));
    }

    /** A node snapshot claiming the node is far over its pool with one huge query. */
    private static NodeSnapshot blockedSnapshot(String nodeId)
    {
        QueryId huge = QueryId.of("forged-huge");
        MemoryPoolInfo pool = new MemoryPoolInfo("general", 64 * MB, 200 * MB, 0, Map.of(huge, 200 * MB), Map.of(), Map.of(), Map.of(), Map.of());
        QuerySnapshot query = new QuerySnapshot(huge, "rogue", RetryPolicy.NONE, 0, false, Long.MAX_VALUE, Long.MAX_VALUE, Instant.now(),
                QueryState.RUNNING, null, null, null, 200 * MB, 0, 0, List.of());
        return new NodeSnapshot(NodeId.of(nodeId), Long.MAX_VALUE / 2, Instant.now(), List.of(pool), 0, List.of(query));
    }

    private static Path secretFile(String name, String secret)
            throws IOException
    {
        Path file = directory.resolve(name);
        Files.writeString(file, secret);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
