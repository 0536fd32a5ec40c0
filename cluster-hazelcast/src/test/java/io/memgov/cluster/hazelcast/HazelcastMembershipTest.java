package io.memgov.cluster.hazelcast;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Several members in this JVM on 127.0.0.1, each on its own port. */
final class HazelcastMembershipTest
{
    // "within two poll intervals" with the tests' poll interval of 1s
    private static final Duration TWO_POLL_INTERVALS = Duration.ofSeconds(2);

    private final TestCluster cluster = new TestCluster();

    @AfterEach
    void closeCluster()
    {
        cluster.close();
    }

    @Test
    @Timeout(30)
    void membersJoinAndSeeEveryNodesSnapshot()
    {
        long started = System.nanoTime();
        HazelcastMembership a = cluster.start(Set.of("a1"), new RecordingListener());
        long first = System.nanoTime();
        HazelcastMembership b = cluster.start(Set.of("b1", "b2"), new RecordingListener());
        long second = System.nanoTime();
        HazelcastMembership c = cluster.start(Set.of("c1"), new RecordingListener());
        System.out.printf("[measure] start of the first member %d ms (class loading included), join of the second %d ms, of the third %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(first - started), TimeUnit.NANOSECONDS.toMillis(second - first),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - second));

        for (HazelcastMembership member : List.of(a, b, c)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> member.liveNodeIds().equals(Set.of("a1", "b1", "b2", "c1")));
        }
        a.publishSnapshot("a1", bytes("a1 v1"));
        b.publishSnapshot("b1", bytes("b1 v1"));
        b.publishSnapshot("b2", bytes("b2 v1"));
        c.publishSnapshot("c1", bytes("c1 v1"));
        a.publishSnapshot("a1", bytes("a1 v2"));

        for (HazelcastMembership member : List.of(a, b, c)) {
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(payloads(member))
                    .isEqualTo(Map.of("a1", "a1 v2", "b1", "b1 v1", "b2", "b2 v1", "c1", "c1 v1")));
            assertThat(member.liveSnapshots().get("b2").memberId()).isEqualTo(b.localMemberId());
            assertThat(member.refusedMessageCount()).isZero();
        }
    }

    @Test
    @Timeout(30)
    void aCommandReachesOnlyTheMemberHostingItsTarget()
            throws Exception
    {
        RecordingListener aListener = new RecordingListener();
        RecordingListener bListener = new RecordingListener();
        RecordingListener cListener = new RecordingListener();
        HazelcastMembership a = cluster.start(Set.of("a1"), aListener);
        HazelcastMembership b = cluster.start(Set.of("b1", "b2"), bListener);
        HazelcastMembership c = cluster.start(Set.of("c1"), cListener);
        await().atMost(Duration.ofSeconds(5)).until(() -> a.liveNodeIds().size() == 4);

        assertThat(a.sendCommand(Set.of("b2", "gone"), bytes("kill q1"))).containsExactly("gone");
        // a later command to every node: each member receives a sender's commands in order, so when A and C have
        // this one, they would have had the first one before it
        assertThat(a.sendCommand(Set.of(), bytes("marker"))).isEmpty();

        ReceivedCommand kill = bListener.commands.poll(5, TimeUnit.SECONDS);
        assertThat(kill).isNotNull();
        assertThat(new String(kill.payload(), StandardCharsets.UTF_8)).isEqualTo("kill q1");
        assertThat(kill.nodeIds()).containsExactly("b2");
        assertThat(kill.senderId()).isEqualTo(a.localMemberId());
        ReceivedCommand bMarker = bListener.commands.poll(5, TimeUnit.SECONDS);
        assertThat(bMarker.nodeIds()).containsExactlyInAnyOrder("b1", "b2");
        for (RecordingListener other : List.of(aListener, cListener)) {
            ReceivedCommand first = other.commands.poll(5, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            assertThat(new String(first.payload(), StandardCharsets.UTF_8)).isEqualTo("marker");
            assertThat(other.commands).isEmpty();
        }
        assertThat(aListener.commands).isEmpty();
        assertThat(bListener.commands).isEmpty();
    }

    @Test
    @Timeout(30)
    void exactlyOneCoordinatorAndTheRoleMovesWhenItLeaves()
    {
        RecordingListener aListener = new RecordingListener();
        RecordingListener bListener = new RecordingListener();
        RecordingListener cListener = new RecordingListener();
        HazelcastMembership a = cluster.start(Set.of("a1"), aListener);
        HazelcastMembership b = cluster.start(Set.of("b1"), bListener);
        HazelcastMembership c = cluster.start(Set.of("c1"), cListener);
        await().atMost(Duration.ofSeconds(5)).until(() -> c.liveNodeIds().size() == 3);

        // the oldest member coordinates, and was told so once, at start
        assertThat(Stream.of(a, b, c).filter(HazelcastMembership::isCoordinator)).containsExactly(a);
        assertThat(aListener.coordinator()).containsExactly(true);
        assertThat(bListener.coordinator()).isEmpty();

        long closed = System.nanoTime();
        a.close();
        // the role flips before the listener hears of it: wait for what the listener records
        await().atMost(TWO_POLL_INTERVALS).until(() -> !bListener.coordinator().isEmpty());
        await().atMost(TWO_POLL_INTERVALS).until(() -> cListener.lostNodes.size() == 1);
        System.out.printf("[measure] coordinator role moved %d ms after the coordinator closed%n",
                TimeUnit.NANOSECONDS.toMillis(bListener.coordinatorChanges.get(0).nanos() - closed));

        assertThat(bListener.coordinator()).containsExactly(true);
        assertThat(c.isCoordinator()).isFalse();
        assertThat(cListener.coordinator()).isEmpty();
        assertThat(cListener.lost()).containsExactly(Set.of("a1"));
        assertThat(bListener.lost()).containsExactly(Set.of("a1"));
        assertThat(b.liveNodeIds()).containsExactly("b1", "c1");
    }

    @Test
    @Timeout(30)
    void aMemberLeavingReportsItsNodesAndDropsTheirSnapshots()
    {
        RecordingListener aListener = new RecordingListener();
        HazelcastMembership a = cluster.start(Set.of("a1"), aListener);
        HazelcastMembership b = cluster.start(Set.of("b1", "b2"), new RecordingListener());
        b.publishSnapshot("b1", bytes("b1"));
        b.publishSnapshot("b2", bytes("b2"));
        a.publishSnapshot("a1", bytes("a1"));
        await().atMost(Duration.ofSeconds(5)).until(() -> a.liveSnapshots().keySet().equals(Set.of("a1", "b1", "b2")));

        b.close();

        await().atMost(TWO_POLL_INTERVALS).until(() -> aListener.lostNodes.size() == 1);
        assertThat(aListener.lost()).containsExactly(Set.of("b1", "b2"));
        assertThat(a.liveSnapshots().keySet()).containsExactly("a1");
        assertThat(a.liveNodeIds()).containsExactly("a1");
        // the coordinator stays where it was
        assertThat(aListener.coordinator()).containsExactly(true);
    }

    @Test
    @Timeout(30)
    void aQuorumKeepsTooFewMembersFromCoordinating()
    {
        try (TestCluster quorumCluster = new TestCluster(Map.of("coordinator-quorum", "2"))) {
            RecordingListener aListener = new RecordingListener();
            HazelcastMembership a = quorumCluster.start(Set.of("a1"), aListener);
            assertThat(a.isCoordinator()).isFalse();

            HazelcastMembership b = quorumCluster.start(Set.of("b1"), new RecordingListener());
            await().atMost(TWO_POLL_INTERVALS).until(() -> !aListener.coordinator().isEmpty());
            assertThat(a.isCoordinator()).isTrue();
            assertThat(b.isCoordinator()).isFalse();

            b.close();
            await().atMost(TWO_POLL_INTERVALS).until(() -> aListener.coordinator().size() == 2);
            assertThat(a.isCoordinator()).isFalse();
            assertThat(aListener.coordinator()).containsExactly(true, false);
        }
    }

    @Test
    @Timeout(30)
    void aNodeHostedByAnotherMemberIsRefusedAtStart()
    {
        cluster.start(Set.of("a1", "shared"), new RecordingListener());

        assertThatThrownBy(() -> cluster.start(Set.of("b1", "shared"), new RecordingListener()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Nodes [shared] are already hosted by member");
    }

    @Test
    @Timeout(30)
    void publishingRefusesNodesHostedElsewhereAndBadNodeIdsAreRefusedAtStart()
    {
        HazelcastMembership a = cluster.start(Set.of("a1"), new RecordingListener());

        assertThatThrownBy(() -> a.publishSnapshot("b1", bytes("x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Node 'b1' is not hosted by this member. Its nodes: [a1]");
        assertThatThrownBy(() -> HazelcastMembership.start(cluster.settings(), Set.of("bad id"), new RecordingListener()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid node id 'bad id' in localNodeIds: expected 1 to 128 letters, digits, '_' or '-'");

        a.close();
        assertThatThrownBy(() -> a.publishSnapshot("a1", bytes("x"))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @Timeout(30)
    void aListenerThatThrowsKeepsReceivingCommands()
            throws Exception
    {
        RecordingListener recording = new RecordingListener();
        HazelcastMembership.Listener throwing = new HazelcastMembership.Listener()
        {
            @Override
            public void onCommand(ReceivedCommand command)
            {
                recording.onCommand(command);
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void onNodesLost(Set<String> nodeIds, Map<String, SignedSnapshot> lastSnapshots) {}
        };
        HazelcastMembership a = cluster.start(Set.of("a1"), throwing);

        a.sendCommand(Set.of("a1"), bytes("first"));
        a.sendCommand(Set.of("a1"), bytes("second"));

        assertThat(new String(recording.commands.poll(5, TimeUnit.SECONDS).payload(), StandardCharsets.UTF_8)).isEqualTo("first");
        assertThat(new String(recording.commands.poll(5, TimeUnit.SECONDS).payload(), StandardCharsets.UTF_8)).isEqualTo("second");
    }

    @Test
    @Timeout(30)
    void theCoordinatorStateOutlivesItsWriterAndVersionsOnlyGrow()
    {
        HazelcastMembership a = cluster.start(Set.of("a1"), new RecordingListener());
        HazelcastMembership b = cluster.start(Set.of("b1"), new RecordingListener());
        assertThat(b.loadState(Duration.ofSeconds(2))).isEmpty();

        assertThat(a.saveState(bytes("state 1"))).isEqualTo(1);
        assertThat(a.saveState(bytes("state 2"))).isEqualTo(2);
        // b keeps the newest version the topic brought, without asking the map
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(b.loadState(Duration.ofSeconds(2))).hasValueSatisfying(state -> assertThat(state).asString(StandardCharsets.UTF_8).isEqualTo("state 2")));

        a.close();
        await().atMost(TWO_POLL_INTERVALS).until(b::isCoordinator);
        assertThat(b.loadState(Duration.ofSeconds(2))).hasValueSatisfying(state -> assertThat(state).asString(StandardCharsets.UTF_8).isEqualTo("state 2"));
        // the new coordinator continues the numbering
        assertThat(b.saveState(bytes("state 3"))).isEqualTo(3);

        // a member that joins later never saw the topic: it finds the newest version in the map
        HazelcastMembership c = cluster.start(Set.of("c1"), new RecordingListener());
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(c.loadState(Duration.ofSeconds(2))).hasValueSatisfying(state -> assertThat(state).asString(StandardCharsets.UTF_8).isEqualTo("state 3")));
        assertThat(c.saveState(bytes("state 4"))).isEqualTo(4);
    }

    @Test
    @Timeout(30)
    void aStoredStateThatDoesNotVerifyIsIgnoredAndTheReceivedOneStands()
    {
        HazelcastMembership a = cluster.start(Set.of("a1"), new RecordingListener());
        a.saveState(bytes("genuine"));
        // a forged state of a higher version, in the map where any member (an untrusted one too) can write
        byte[] forged = Envelope.state(a.localMemberId(), 99, System.currentTimeMillis(), bytes("forged"))
                .sign(MessageKeys.fromSharedSecret(bytes("a guess at the secret, 32 bytes!"), cluster.settings().clusterName()));
        try (LogRecords logs = new LogRecords()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> a.loadState(Duration.ofSeconds(2)).isPresent());
            a.stateMapForTests().set(HazelcastMembership.STATE_KEY, forged);

            assertThat(a.loadState(Duration.ofSeconds(2))).hasValueSatisfying(state -> assertThat(state).asString(StandardCharsets.UTF_8).isEqualTo("genuine"));
            HazelcastMembership late = cluster.start(Set.of("b1"), new RecordingListener());
            assertThat(late.loadState(Duration.ofSeconds(2))).isEmpty();
            assertThat(late.refusedMessageCount()).isEqualTo(1);
            assertThat(logs.warnings()).anySatisfy(line -> assertThat(line)
                    .contains("Ignored the coordinator state stored in map 'memgov.coordinator-state'")
                    .contains("with a signature that does not verify"));
        }
    }

    @Test
    @Timeout(30)
    void measuresTheEnvelopeOverheadOfASnapshot()
    {
        MessageKeys keys = MessageKeys.fromClusterName("memgov");
        for (int payload : new int[] {0, 1_000, 100_000}) {
            byte[] envelope = Envelope.snapshot(java.util.UUID.randomUUID(), 1, 0, "node-1", new byte[payload]).sign(keys);
            System.out.printf("[measure] snapshot envelope for node id 'node-1' (6 chars), payload %d bytes: %d bytes, overhead %d bytes%n",
                    payload, envelope.length, envelope.length - payload);
            assertThat(envelope.length - payload).isEqualTo(Envelope.FIXED_BYTES + 2 + "node-1".length());
        }
    }

    private static byte[] bytes(String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, String> payloads(HazelcastMembership member)
    {
        Map<String, String> payloads = new java.util.TreeMap<>();
        member.liveSnapshots().forEach((node, snapshot) -> payloads.put(node, new String(snapshot.payload(), StandardCharsets.UTF_8)));
        return payloads;
    }
}
