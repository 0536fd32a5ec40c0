package io.memgov.cluster.hazelcast;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.topic.ITopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Processes that join with the right cluster name but without the cluster's secret, as anyone who reaches the port
 * can in Hazelcast's community edition: what they send is refused and logged, and the cluster's view stays as it was.
 */
final class RogueMemberTest
{
    private static final Duration TWO_POLL_INTERVALS = Duration.ofSeconds(2);

    @TempDir
    Path directory;

    private TestCluster cluster;
    private final LogRecords logs = new LogRecords();
    private final RecordingListener aListener = new RecordingListener();
    private final RecordingListener bListener = new RecordingListener();
    private HazelcastMembership a;
    private HazelcastMembership b;

    @BeforeEach
    void createCluster()
            throws Exception
    {
        cluster = new TestCluster(Map.of("shared-secret-file", secretFile("cluster", "the cluster's own secret, 32 bytes").toString()));
    }

    private void startHonestMembers()
    {
        a = cluster.start(Set.of("a1"), aListener);
        b = cluster.start(Set.of("b1"), bListener);
        a.publishSnapshot("a1", bytes("honest a1"));
        b.publishSnapshot("b1", bytes("honest b1"));
        for (HazelcastMembership member : List.of(a, b)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> member.liveSnapshots().keySet().equals(Set.of("a1", "b1")));
        }
    }

    @AfterEach
    void stopEveryone()
    {
        cluster.close();
        logs.close();
    }

    @Test
    @Timeout(30)
    void aMemberWithTheWrongSecretCannotForgeASnapshotOrSendAKill()
            throws Exception
    {
        startHonestMembers();
        Map<String, String> rogueProperties = new java.util.HashMap<>(cluster.properties());
        rogueProperties.put("shared-secret-file", secretFile("rogue", "a guess at the secret, 32 bytes!").toString());
        RecordingListener rogueListener = new RecordingListener();
        // it claims the honest member's node, and sees the honest members as untrusted, so it starts
        HazelcastMembership rogue = HazelcastMembership.start(HazelcastSettings.fromProperties(rogueProperties), Set.of("a1"), rogueListener);
        UUID rogueId = rogue.localMemberId();
        try {
            rogue.publishSnapshot("a1", bytes("forged a1"));
            rogue.sendCommand(Set.of(), bytes("kill every query"));

            await().atMost(Duration.ofSeconds(5)).until(() -> a.refusedMessageCount() >= 2 && b.refusedMessageCount() >= 2);
            for (HazelcastMembership honest : List.of(a, b)) {
                assertThat(honest.liveSnapshots().get("a1").payload()).asString(StandardCharsets.UTF_8).isEqualTo("honest a1");
                assertThat(honest.liveSnapshots().keySet()).containsExactly("a1", "b1");
                assertThat(honest.liveNodeIds()).containsExactly("a1", "b1");
            }
            assertThat(aListener.commands).isEmpty();
            assertThat(bListener.commands).isEmpty();
            assertThat(a.isCoordinator()).isTrue();
            assertThat(b.isCoordinator()).isFalse();
            assertThat(logs.warnings()).anySatisfy(line -> assertThat(line)
                    .contains("Member " + rogueId)
                    .contains("is not trusted: the signature of its 'memgov.identity' attribute does not verify"));
            assertThat(logs.warnings()).anySatisfy(line -> assertThat(line).contains("Refused a SNAPSHOT from member " + rogueId));
            assertThat(logs.warnings()).anySatisfy(line -> assertThat(line).contains("Refused a COMMAND from member " + rogueId));
        }
        finally {
            rogue.close();
        }
        // the rogue leaving is no node loss: it hosted nothing the cluster trusted
        awaitLeftAndHandled(rogueId);
        assertThat(aListener.lostNodes).isEmpty();
        assertThat(bListener.lostNodes).isEmpty();
        assertThat(aListener.coordinator()).containsExactly(true);
    }

    @Test
    @Timeout(30)
    void aCapturedCommandOrSnapshotSentAgainIsRefused()
            throws Exception
    {
        startHonestMembers();
        HazelcastInstance rogue = cluster.startRawMember("no identity");
        BlockingQueue<byte[]> capturedCommands = new LinkedBlockingQueue<>();
        BlockingQueue<byte[]> capturedSnapshots = new LinkedBlockingQueue<>();
        ITopic<byte[]> commands = rogue.getTopic(HazelcastMembership.COMMAND_TOPIC);
        ITopic<byte[]> snapshots = rogue.getTopic(HazelcastMembership.SNAPSHOT_TOPIC);
        commands.addMessageListener(message -> capturedCommands.add(message.getMessageObject()));
        snapshots.addMessageListener(message -> capturedSnapshots.add(message.getMessageObject()));
        // the rogue's listeners are registered on every member once addMessageListener returns

        a.sendCommand(Set.of("b1"), bytes("kill q1"));
        assertThat(bListener.commands.poll(5, TimeUnit.SECONDS).payload()).asString(StandardCharsets.UTF_8).isEqualTo("kill q1");
        byte[] capturedKill = capturedCommands.poll(5, TimeUnit.SECONDS);
        a.publishSnapshot("a1", bytes("a1 before"));
        byte[] capturedSnapshot = capturedSnapshots.poll(5, TimeUnit.SECONDS);
        a.publishSnapshot("a1", bytes("a1 now"));
        await().atMost(Duration.ofSeconds(5)).until(() -> new String(b.liveSnapshots().get("a1").payload(), StandardCharsets.UTF_8).equals("a1 now"));

        commands.publish(capturedKill);
        snapshots.publish(capturedSnapshot);

        await().atMost(Duration.ofSeconds(5)).until(() -> b.refusedMessageCount() >= 2);
        assertThat(bListener.commands).isEmpty();
        assertThat(b.liveSnapshots().get("a1").payload()).asString(StandardCharsets.UTF_8).isEqualTo("a1 now");
        assertThat(logs.warnings()).anySatisfy(line -> assertThat(line)
                .contains("Refused a COMMAND from member " + a.localMemberId())
                .contains("with a sequence number already seen (replayed)"));
        assertThat(logs.warnings()).anySatisfy(line -> assertThat(line)
                .contains("Refused a SNAPSHOT from member " + a.localMemberId())
                .contains("(replayed)"));

        // b1 restarts in a new member, which has never seen A's sequence numbers: the kill was addressed to the old
        // member, so the new one ignores it
        b.close();
        // a restart takes seconds; one within milliseconds, on the same port, can leave Hazelcast's listener
        // registration waiting for a member that still lists the old process
        await().atMost(TWO_POLL_INTERVALS).until(() -> !a.liveNodeIds().contains("b1"));
        RecordingListener restartedListener = new RecordingListener();
        HazelcastMembership restarted = cluster.start(Set.of("b1"), restartedListener);
        await().atMost(Duration.ofSeconds(5)).until(() -> a.liveNodeIds().contains("b1"));
        commands.publish(capturedKill);
        // then a message the new member refuses: it handles one publisher's messages in order, so once it has
        // refused this one, it has handled the kill before it
        commands.publish(bytes("not even an envelope"));
        await().atMost(Duration.ofSeconds(5)).until(() -> restarted.refusedMessageCount() == 1);
        restarted.awaitEventsForTests(Duration.ofSeconds(5));
        assertThat(restartedListener.commands).isEmpty();
        a.sendCommand(Set.of("b1"), bytes("kill q2"));
        assertThat(restartedListener.commands.poll(5, TimeUnit.SECONDS).payload()).asString(StandardCharsets.UTF_8).isEqualTo("kill q2");
        assertThat(restarted.localMemberId()).isNotEqualTo(b.localMemberId());
    }

    @Test
    @Timeout(30)
    void anUntrustedOldestMemberDoesNotTakeTheCoordinatorRole()
    {
        // Hazelcast's master, the member every other one would follow if the role went to the oldest member
        HazelcastInstance rogue = cluster.startRawMember("no identity");

        startHonestMembers();

        assertThat(rogue.getCluster().getMembers().iterator().next().localMember()).isTrue();
        assertThat(a.isCoordinator()).isTrue();
        assertThat(b.isCoordinator()).isFalse();
        assertThat(aListener.coordinator()).containsExactly(true);
    }

    @Test
    @Timeout(30)
    void aKillForgedInATrustedMembersNameIsRefused()
            throws Exception
    {
        startHonestMembers();
        HazelcastInstance rogue = cluster.startRawMember("no identity");
        MessageKeys guessed = MessageKeys.fromSharedSecret(bytes("a guess at the secret, 32 bytes!"), cluster.settings().clusterName());
        MessageKeys withoutSecret = MessageKeys.fromClusterName(cluster.settings().clusterName());
        ITopic<byte[]> commands = rogue.getTopic(HazelcastMembership.COMMAND_TOPIC);
        ITopic<byte[]> snapshots = rogue.getTopic(HazelcastMembership.SNAPSHOT_TOPIC);

        // in A's name, to B, with a fresh sequence number and time: only the signature gives it away
        for (MessageKeys keys : List.of(guessed, withoutSecret)) {
            commands.publish(Envelope.command(a.localMemberId(), 1_000, System.currentTimeMillis(), Set.of("b1"), Set.of(b.localMemberId()),
                    bytes("kill q1")).sign(keys));
            snapshots.publish(Envelope.snapshot(a.localMemberId(), 1_000, System.currentTimeMillis(), "a1", bytes("forged a1")).sign(keys));
        }
        // and in its own name
        snapshots.publish(Envelope.snapshot(rogue.getCluster().getLocalMember().getUuid(), 1, System.currentTimeMillis(), "a1", bytes("x"))
                .sign(guessed));
        commands.publish(bytes("not even an envelope"));

        await().atMost(Duration.ofSeconds(5)).until(() -> b.refusedMessageCount() >= 6 && a.refusedMessageCount() >= 6);
        assertThat(bListener.commands).isEmpty();
        assertThat(aListener.commands).isEmpty();
        for (HazelcastMembership honest : List.of(a, b)) {
            assertThat(honest.liveSnapshots().get("a1").payload()).asString(StandardCharsets.UTF_8).isEqualTo("honest a1");
        }
        // a later genuine command still goes through: the forgeries did not spend A's sequence numbers
        a.sendCommand(Set.of("b1"), bytes("genuine"));
        assertThat(bListener.commands.poll(5, TimeUnit.SECONDS).payload()).asString(StandardCharsets.UTF_8).isEqualTo("genuine");
        List<String> warnings = logs.warnings();
        assertThat(warnings).anySatisfy(line -> assertThat(line)
                .contains("Refused a COMMAND from member " + a.localMemberId())
                .contains("with a signature that does not verify"));
        assertThat(warnings).anySatisfy(line -> assertThat(line).contains("Refused a COMMAND from an unknown sender").contains("malformed"));
        // logged once per sender and reason, not once per message
        assertThat(warnings.stream().filter(line -> line.contains("Refused a COMMAND from member " + a.localMemberId()))).hasSize(2);
    }

    @Test
    @Timeout(30)
    void aMemberWithACopiedIdentityIsNotTrustedAndItsLeavingLosesNoNode()
            throws Exception
    {
        startHonestMembers();
        HazelcastInstance observer = cluster.startRawMember("no identity");
        Member honestA = observer.getCluster().getMembers().stream().filter(member -> member.getUuid().equals(a.localMemberId())).findFirst().orElseThrow();
        String copied = honestA.getAttribute(MemberIdentity.ATTRIBUTE);

        HazelcastInstance impostor = cluster.startRawMember(copied);
        UUID impostorId = impostor.getCluster().getLocalMember().getUuid();

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(logs.warnings()).anySatisfy(line -> assertThat(line)
                .contains("Member " + impostorId)
                .contains("attribute was signed for " + honestA.getSocketAddress().getAddress().getHostAddress() + ":" + honestA.getSocketAddress().getPort())
                .contains("(copied)")));
        impostor.shutdown();

        awaitLeftAndHandled(impostorId);
        assertThat(aListener.lostNodes).isEmpty();
        assertThat(bListener.lostNodes).isEmpty();
        assertThat(b.liveNodeIds()).containsExactly("a1", "b1");
        assertThat(a.isCoordinator()).isTrue();
    }

    /**
     * Waits until both honest members have seen {@code memberId} leave and have told their listeners whatever they
     * had to tell of it: what the listeners hold then is all they will ever hear of that member.
     */
    private void awaitLeftAndHandled(UUID memberId)
            throws Exception
    {
        for (HazelcastMembership honest : List.of(a, b)) {
            await().atMost(TWO_POLL_INTERVALS).until(() -> !honest.seenMemberIdsForTests().contains(memberId));
            honest.awaitEventsForTests(Duration.ofSeconds(5));
        }
    }

    private Path secretFile(String name, String secret)
            throws Exception
    {
        Path file = directory.resolve(name);
        Files.writeString(file, secret);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    private static byte[] bytes(String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }
}
