package io.memgov.cluster.hazelcast;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.Hazelcast;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three engines in three JVMs on 127.0.0.1 (-Xmx96m each), each hosting one node, joined by the Hazelcast cluster
 * transport: the coordinator's loop governs all three nodes through snapshots and commands, and keeps doing so when
 * a process dies. Each worker is an {@link EngineWorker} driven over its standard input.
 */
final class ProcessClusterTest
{
    private static final long MB = 1 << 20;
    // each node governs a 64MB pool; the reservations below are accounted bytes, not allocations
    private static final String POOL = "64MB";
    // detecting a dead process takes about half a second on loopback, and the next round comes within one interval
    private static final Duration POLL_INTERVAL = Duration.ofMillis(1500);
    private static final Duration TWO_POLL_INTERVALS = POLL_INTERVAL.multipliedBy(2);
    // a JVM with an engine and a Hazelcast member, on two cores shared with two others starting at the same time
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration SHORT = Duration.ofSeconds(10);

    @TempDir
    Path directory;

    private final TestCluster cluster = new TestCluster();
    private final List<ChildJvm> workers = new ArrayList<>();
    private final List<HazelcastInstance> rawMembers = new ArrayList<>();

    @AfterEach
    void stopEverything()
            throws InterruptedException
    {
        rawMembers.forEach(HazelcastInstance::shutdown);
        cluster.close();
        for (ChildJvm worker : workers) {
            worker.close();
        }
    }

    @Test
    @Timeout(180)
    void aNodeOutOfMemoryLosesExactlyOneQueryOnThatNode()
            throws Exception
    {
        startWorkers(Map.of());
        ChildJvm node0 = workers.get(0);
        ChildJvm node1 = workers.get(1);
        ChildJvm node2 = workers.get(2);
        reserve(node0, "small", 4 * MB);
        reserve(node1, "small", 4 * MB);
        reserve(node2, "small", 4 * MB);
        reserve(node1, "mid", 20 * MB);
        reserve(node2, "mid", 10 * MB);
        reserve(node1, "big", 36 * MB);
        awaitView(node0, Map.of("node-0", 4 * MB, "node-1", 60 * MB, "node-2", 14 * MB));
        measureRounds(node0);

        // node-1 at 76MB of 64MB: blocked; the largest query there goes, and nothing else
        node1.send("reserve late " + 16 * MB);
        node1.awaitLine("BLOCKED late", SHORT);
        String failed = node1.awaitLine("FAILED big ", SHORT);
        assertThat(failed).startsWith("FAILED big CLUSTER_OUT_OF_MEMORY ");
        node1.awaitLine("UNBLOCKED late", SHORT);
        awaitView(node0, Map.of("node-0", 4 * MB, "node-1", 40 * MB, "node-2", 14 * MB));
        awaitStatus(node0, Map.of("killed", 1L, "cluster", 58 * MB));
        await().during(POLL_INTERVAL.multipliedBy(3)).atMost(POLL_INTERVAL.multipliedBy(4))
                .until(() -> workers.stream().mapToLong(worker -> worker.lines("FAILED").size()).sum() == 1);
        assertThat(status(node1)).containsEntry("reserved", 40 * MB);
        assertThat(status(node2)).containsEntry("reserved", 14 * MB);
    }

    @Test
    @Timeout(180)
    void anotherProcessTakesOverWhenTheCoordinatorsIsKilled()
            throws Exception
    {
        startWorkers(Map.of());
        ChildJvm node0 = workers.get(0);
        ChildJvm node1 = workers.get(1);
        ChildJvm node2 = workers.get(2);
        reserve(node0, "on-0", 8 * MB);
        reserve(node2, "on-0", 8 * MB);
        reserve(node1, "victim", 30 * MB);
        reserve(node2, "victim", 10 * MB);
        reserve(node1, "keep", 20 * MB);
        awaitView(node0, Map.of("node-0", 8 * MB, "node-1", 50 * MB, "node-2", 18 * MB));
        // node-1 at 70MB of 64MB: the coordinator kills the largest query there, which frees enough
        node1.send("reserve late " + 20 * MB);
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
        reserve(node2, "new", 60 * MB);
        node2.send("reserve new-small " + 10 * MB);
        assertThat(node2.awaitLine("FAILED new ", SHORT)).startsWith("FAILED new CLUSTER_OUT_OF_MEMORY ");
        node2.awaitLine("UNBLOCKED new-small", SHORT);
        for (String query : List.of("keep", "late")) {
            close(node1, query);
        }
        close(node2, "new-small");
        await().during(POLL_INTERVAL.multipliedBy(2)).atMost(POLL_INTERVAL.multipliedBy(3)).until(() -> status(node1).get("killed") == 1);

        // no query killed twice: one failure per query and process, one reason per query
        Map<String, List<String>> failures = failuresByQuery(List.of(node1, node2));
        assertThat(failures).containsOnlyKeys("victim", "on-0", "new");
        assertThat(failures.get("victim")).containsExactly("CLUSTER_OUT_OF_MEMORY", "CLUSTER_OUT_OF_MEMORY");
        assertThat(failures.get("on-0")).containsExactly("NODE_LOST");
        assertThat(failures.get("new")).containsExactly("CLUSTER_OUT_OF_MEMORY");
        assertThat(status(node1)).containsEntry("reserved", 0L);
        awaitView(node1, Map.of("node-1", 0L, "node-2", 0L));
    }

    @Test
    @Timeout(180)
    void aKilledWorkersMemoryLeavesTheViewAndItsQueriesFailWithNodeLost()
            throws Exception
    {
        startWorkers(Map.of());
        ChildJvm node0 = workers.get(0);
        ChildJvm node1 = workers.get(1);
        ChildJvm node2 = workers.get(2);
        reserve(node0, "a", 8 * MB);
        reserve(node2, "a", 8 * MB);
        reserve(node1, "b", 6 * MB);
        reserve(node2, "b", 6 * MB);
        reserve(node0, "c", 5 * MB);
        reserve(node1, "c", 5 * MB);
        awaitView(node0, Map.of("node-0", 13 * MB, "node-1", 11 * MB, "node-2", 14 * MB));

        long killedMillis = System.currentTimeMillis();
        node2.destroy();

        String view = node0.awaitLine(line -> line.startsWith("VIEW ") && Long.parseLong(line.split(" ")[1]) >= killedMillis && !line.contains("node-2="),
                "a VIEW without node-2", TWO_POLL_INTERVALS.plusSeconds(5));
        long leftMillis = Long.parseLong(view.split(" ")[1]) - killedMillis;
        System.out.printf("[measure] worker process killed: its node left the coordinator's view after %d ms (poll interval %s)%n",
                leftMillis, PolicyConfig.format(POLL_INTERVAL));
        assertThat(leftMillis).isLessThanOrEqualTo(TWO_POLL_INTERVALS.toMillis());
        assertThat(node0.awaitLine("FAILED a ", SHORT)).startsWith("FAILED a NODE_LOST ").contains("node node-2, on which it ran, left the cluster");
        assertThat(node1.awaitLine("FAILED b ", SHORT)).startsWith("FAILED b NODE_LOST ");

        // what survives is exact, on the nodes and in the coordinator's view
        awaitView(node0, Map.of("node-0", 5 * MB, "node-1", 5 * MB));
        // the loop sets its counters after the view it prints: read them a moment later
        awaitStatus(node0, Map.of("reserved", 5 * MB, "cluster", 10 * MB));
        assertThat(status(node1)).containsEntry("reserved", 5 * MB);
        for (ChildJvm survivor : List.of(node0, node1)) {
            close(survivor, "c");
        }
        awaitView(node0, Map.of("node-0", 0L, "node-1", 0L));
        awaitStatus(node0, Map.of("reserved", 0L, "cluster", 0L, "killed", 0L));
        assertThat(status(node1)).containsEntry("reserved", 0L);
        assertThat(failuresByQuery(List.of(node0, node1))).containsOnlyKeys("a", "b");
    }

    @Test
    @Timeout(180)
    void aRogueMemberWithoutTheSecretCanNeitherKillNorForgeASnapshot()
            throws Exception
    {
        Path secret = secretFile("cluster-secret", "the cluster's own secret, 32 bytes");
        startWorkers(Map.of("cluster.transport.hazelcast.shared-secret-file", secret.toString()));
        ChildJvm node0 = workers.get(0);
        ChildJvm node1 = workers.get(1);
        reserve(node1, "q1", 10 * MB);
        reserve(node0, "q1", 2 * MB);
        Map<String, Long> before = Map.of("node-0", 2 * MB, "node-1", 10 * MB, "node-2", 0L);
        awaitView(node0, before);

        // a member with the cluster's name and a guessed secret: it sees the honest members as untrusted, so it starts
        Map<String, String> rogueProperties = new HashMap<>(cluster.properties());
        rogueProperties.put("shared-secret-file", secretFile("rogue-secret", "a guess at the secret, 32 bytes!").toString());
        HazelcastMembership rogue = HazelcastMembership.start(HazelcastSettings.fromProperties(rogueProperties), Set.of("node-1"), new RecordingListener());
        byte[] kill = ClusterJson.write(new ClusterCommand.KillQuery(QueryId.of("q1"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "forged")).getBytes(StandardCharsets.UTF_8);
        byte[] forged = ClusterJson.write(blockedSnapshot("node-1")).getBytes(StandardCharsets.UTF_8);
        try {
            rogue.sendCommand(Set.of(), kill);
            rogue.publishSnapshot("node-1", forged);
            // and in the honest members' names, to their member ids, as a plain Hazelcast member can
            HazelcastInstance raw = Hazelcast.newHazelcastInstance(HazelcastMembership.hazelcastConfig(cluster.settings(), cluster.settings().port() + 4, "no identity"));
            rawMembers.add(raw);
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
                    .until(() -> workers.stream().allMatch(worker -> worker.lines("FAILED").isEmpty()) && lastView(node0).equals(before));
            assertThat(status(node0)).containsEntry("coordinator", 1L).containsEntry("killed", 0L);
            assertThat(status(node1).get("refused")).isGreaterThanOrEqualTo(2);
        }
        finally {
            rogue.close();
        }
    }

    /**
     * Starts the workers one after the other, so that the members' ages follow the nodes: node-0's process coordinates,
     * node-1's takes over when it dies.
     */
    private void startWorkers(Map<String, String> extra)
            throws Exception
    {
        for (int index = 0; index < 3; index++) {
            startWorker(index, extra).awaitLine("READY", START);
        }
        workers.get(0).awaitLine("COORDINATOR true", START);
        awaitView(workers.get(0), Map.of("node-0", 0L, "node-1", 0L, "node-2", 0L));
    }

    private ChildJvm startWorker(int index, Map<String, String> extra)
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
        properties.putAll(extra);
        List<String> arguments = properties.entrySet().stream().map(entry -> entry.getKey() + "=" + entry.getValue()).sorted().toList();
        ChildJvm worker = ChildJvm.start("worker of node-" + index, "96m", ChildJvm.LEAN, EngineWorker.class, arguments);
        workers.add(worker);
        return worker;
    }

    private static void reserve(ChildJvm worker, String query, long bytes)
            throws InterruptedException
    {
        worker.send("reserve " + query + " " + bytes);
        worker.awaitLine("RESERVED " + query + " " + bytes, SHORT);
    }

    private static void close(ChildJvm worker, String query)
            throws InterruptedException
    {
        worker.send("close " + query);
        worker.awaitLine("CLOSED " + query, SHORT);
    }

    /** Waits until the coordinator's loop has seen exactly these nodes holding exactly these bytes. */
    private static void awaitView(ChildJvm coordinator, Map<String, Long> reserved)
            throws InterruptedException
    {
        coordinator.awaitLine(line -> line.startsWith("VIEW ") && parseView(line).equals(reserved), "a VIEW of " + reserved, SHORT);
    }

    private static Map<String, Long> lastView(ChildJvm coordinator)
    {
        List<String> views = coordinator.lines("VIEW ");
        return views.isEmpty() ? Map.of() : parseView(views.get(views.size() - 1));
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

    private Path secretFile(String name, String secret)
            throws IOException
    {
        Path file = directory.resolve(name);
        Files.writeString(file, secret);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
