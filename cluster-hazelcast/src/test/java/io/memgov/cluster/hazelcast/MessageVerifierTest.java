package io.memgov.cluster.hazelcast;

import io.memgov.cluster.hazelcast.Envelope.Kind;
import io.memgov.cluster.hazelcast.MemberIdentity.Verification;
import io.memgov.cluster.hazelcast.MessageVerifier.Refusal;
import io.memgov.cluster.hazelcast.MessageVerifier.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(10)
final class MessageVerifierTest
{
    private static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final MessageKeys KEYS = MessageKeys.fromSharedSecret(SECRET, "test");
    private static final UUID SENDER = new UUID(1, 1);
    private static final UUID OTHER = new UUID(2, 2);
    private static final long NOW = 1_700_000_000_000L;
    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);
    private static final MessageVerifier.Senders SENDERS = trusted(Map.of(
            SENDER, new MemberIdentity("127.0.0.1:5701", Set.of("n1")),
            OTHER, new MemberIdentity("127.0.0.1:5702", Set.of("n2"))));

    private final MessageVerifier verifier = new MessageVerifier(KEYS, CLOCK, Duration.ofSeconds(30));

    @Test
    void acceptsASignedSnapshotOfANodeItsSenderHosts()
    {
        Verdict verdict = verifier.verify(snapshot(1, NOW, "n1", "payload"), Kind.SNAPSHOT, SENDERS);

        assertThat(verdict.accepted()).as(verdict.detail()).isTrue();
        assertThat(verdict.envelope().nodeId()).isEqualTo("n1");
        assertThat(new String(verdict.envelope().payload(), StandardCharsets.UTF_8)).isEqualTo("payload");
    }

    @Test
    void acceptsASignedCommandWithItsTargets()
    {
        byte[] bytes = Envelope.command(SENDER, 1, NOW, Set.of("n2"), Set.of(OTHER), new byte[] {7}).sign(KEYS);

        Verdict verdict = verifier.verify(bytes, Kind.COMMAND, SENDERS);

        assertThat(verdict.accepted()).isTrue();
        assertThat(verdict.envelope().targetNodeIds()).containsExactly("n2");
        assertThat(verdict.envelope().targetMemberIds()).containsExactly(OTHER);
    }

    @Test
    void refusesEveryAlteredByte()
    {
        // whatever an attacker flips (sender, sequence, time, node, payload or the signature), the signature breaks
        byte[] original = snapshot(1, NOW, "n1", "payload");
        for (int i = 0; i < original.length; i++) {
            byte[] altered = original.clone();
            altered[i] ^= 0x01;
            Verdict verdict = new MessageVerifier(KEYS, CLOCK, Duration.ofSeconds(30)).verify(altered, Kind.SNAPSHOT, SENDERS);
            assertThat(verdict.accepted()).as("byte %s flipped", i).isFalse();
        }
    }

    @Test
    void refusesASignatureMadeWithAnotherSecretOrCluster()
    {
        MessageKeys otherSecret = MessageKeys.fromSharedSecret("another secret of 16+ bytes".getBytes(StandardCharsets.US_ASCII), "test");
        MessageKeys otherCluster = MessageKeys.fromSharedSecret(SECRET, "other");

        for (MessageKeys keys : new MessageKeys[] {otherSecret, otherCluster, MessageKeys.fromClusterName("test")}) {
            byte[] forged = Envelope.snapshot(SENDER, 1, NOW, "n1", new byte[0]).sign(keys);
            assertThat(verifier.verify(forged, Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.BAD_SIGNATURE);
        }
    }

    @Test
    void refusesAMessageSignedForAnotherSenderOrKind()
    {
        // a valid signature of OTHER's, with the sender field rewritten to SENDER, does not verify for SENDER
        byte[] signedByOther = Envelope.snapshot(OTHER, 1, NOW, "n1", new byte[0]).sign(KEYS);
        byte[] rewritten = signedByOther.clone();
        System.arraycopy(Envelope.snapshot(SENDER, 1, NOW, "n1", new byte[0]).sign(KEYS), 2, rewritten, 2, 16);
        assertThat(verifier.verify(rewritten, Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.BAD_SIGNATURE);

        byte[] command = Envelope.command(SENDER, 1, NOW, Set.of(), Set.of(SENDER), new byte[0]).sign(KEYS);
        assertThat(verifier.verify(command, Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.WRONG_KIND);
    }

    @Test
    void refusesAReplayedSequenceButAcceptsMessagesThatOvertookEachOther()
    {
        assertThat(verifier.verify(snapshot(5, NOW, "n1", "a"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        assertThat(verifier.verify(snapshot(5, NOW, "n1", "a"), Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.REPLAYED);
        // 3 and 4 were published before 5 but arrived after it: each is accepted once
        assertThat(verifier.verify(snapshot(3, NOW, "n1", "b"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        assertThat(verifier.verify(snapshot(4, NOW, "n1", "c"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        assertThat(verifier.verify(snapshot(3, NOW, "n1", "b"), Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.REPLAYED);
        // far behind the newest: refused even though never seen
        assertThat(verifier.verify(snapshot(1000, NOW, "n1", "d"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        assertThat(verifier.verify(snapshot(1000 - ReplayWindow.WIDTH, NOW, "n1", "e"), Kind.SNAPSHOT, SENDERS).refusal())
                .isEqualTo(Refusal.REPLAYED);
        assertThat(verifier.verify(snapshot(0, NOW, "n1", "f"), Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.REPLAYED);
    }

    @Test
    void sequencesAreCountedPerSenderAndKind()
    {
        assertThat(verifier.verify(snapshot(1, NOW, "n1", "a"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        byte[] otherSender = Envelope.snapshot(OTHER, 1, NOW, "n2", new byte[0]).sign(KEYS);
        assertThat(verifier.verify(otherSender, Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        byte[] command = Envelope.command(SENDER, 1, NOW, Set.of(), Set.of(SENDER), new byte[0]).sign(KEYS);
        assertThat(verifier.verify(command, Kind.COMMAND, SENDERS).accepted()).isTrue();
    }

    @Test
    void aForgedMessageDoesNotSpendTheSendersSequence()
    {
        byte[] forged = Envelope.snapshot(SENDER, 9, NOW, "n1", new byte[0])
                .sign(MessageKeys.fromSharedSecret("attacker's own 16+ byte secret".getBytes(StandardCharsets.US_ASCII), "test"));
        assertThat(verifier.verify(forged, Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.BAD_SIGNATURE);

        assertThat(verifier.verify(snapshot(9, NOW, "n1", "real"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
    }

    @Test
    void refusesATimestampOutsideTheMaximumAgeEitherWay()
    {
        long maxAge = Duration.ofSeconds(30).toMillis();
        assertThat(verifier.verify(snapshot(1, NOW - maxAge, "n1", "edge"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
        assertThat(verifier.verify(snapshot(2, NOW - maxAge - 1, "n1", "old"), Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.OUT_OF_TIME);
        assertThat(verifier.verify(snapshot(3, NOW + maxAge + 1, "n1", "future"), Kind.SNAPSHOT, SENDERS).refusal())
                .isEqualTo(Refusal.OUT_OF_TIME);
        // the refused ones did not take their sequence numbers
        assertThat(verifier.verify(snapshot(2, NOW, "n1", "now"), Kind.SNAPSHOT, SENDERS).accepted()).isTrue();
    }

    @Test
    void refusesSendersThatAreNotTrustedMembers()
    {
        MessageVerifier.Senders untrusted = memberId -> memberId.equals(SENDER) ? Verification.untrusted("no attribute") : null;

        assertThat(verifier.verify(snapshot(1, NOW, "n1", "a"), Kind.SNAPSHOT, untrusted).refusal()).isEqualTo(Refusal.UNTRUSTED_SENDER);
        assertThat(verifier.verify(snapshot(1, NOW, "n1", "a"), Kind.SNAPSHOT, memberId -> null).refusal()).isEqualTo(Refusal.NOT_A_MEMBER);
    }

    @Test
    void refusesASnapshotOfANodeItsSenderDoesNotHost()
    {
        // a trusted member must not overwrite another member's node
        assertThat(verifier.verify(snapshot(1, NOW, "n2", "a"), Kind.SNAPSHOT, SENDERS).refusal()).isEqualTo(Refusal.NODE_NOT_HOSTED);
    }

    @Test
    void refusesTruncatedAndGarbageBytesWithoutThrowing()
    {
        byte[] valid = Envelope.command(SENDER, 1, NOW, Set.of("n2", "n3"), Set.of(OTHER), new byte[] {1, 2, 3}).sign(KEYS);
        for (int length = 0; length < valid.length; length++) {
            Verdict verdict = verifier.verify(Arrays.copyOf(valid, length), Kind.COMMAND, SENDERS);
            assertThat(verdict.accepted()).as("first %s bytes", length).isFalse();
        }
        byte[] longer = Arrays.copyOf(valid, valid.length + 1);
        assertThat(verifier.verify(longer, Kind.COMMAND, SENDERS).accepted()).isFalse();
        byte[] garbage = new byte[200];
        Arrays.fill(garbage, (byte) 0xff);
        assertThat(verifier.verify(garbage, Kind.COMMAND, SENDERS).refusal()).isEqualTo(Refusal.MALFORMED);
    }

    private static byte[] snapshot(long sequence, long timestamp, String nodeId, String payload)
    {
        return Envelope.snapshot(SENDER, sequence, timestamp, nodeId, payload.getBytes(StandardCharsets.UTF_8)).sign(KEYS);
    }

    private static MessageVerifier.Senders trusted(Map<UUID, MemberIdentity> members)
    {
        return memberId -> members.containsKey(memberId) ? new Verification(members.get(memberId), "") : null;
    }
}
