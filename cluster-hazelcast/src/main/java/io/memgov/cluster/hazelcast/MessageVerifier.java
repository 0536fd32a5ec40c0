package io.memgov.cluster.hazelcast;

import io.memgov.cluster.hazelcast.Envelope.Kind;
import io.memgov.cluster.hazelcast.MemberIdentity.Verification;

import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import static java.util.Objects.requireNonNull;

/**
 * Decides whether a received envelope is accepted: well formed, of the expected kind, from a trusted member, signed
 * with that member's key, within {@code max-message-age} of this member's clock, never seen before, and (for a
 * snapshot) about a node that member hosts. The checks run in that order and the replay window records a sequence
 * only once the signature has verified, so forged messages cannot spend a sender's sequence numbers. Thread-safe.
 */
final class MessageVerifier
{
    /** Why an envelope was refused. */
    enum Refusal
    {
        MALFORMED("malformed"),
        WRONG_KIND("of the wrong kind for its topic"),
        NOT_A_MEMBER("from a member not (or no longer) in this member's view"),
        UNTRUSTED_SENDER("from a member whose identity does not verify"),
        BAD_SIGNATURE("with a signature that does not verify (another shared secret, or forged)"),
        OUT_OF_TIME("with a timestamp outside max-message-age of this member's clock (replayed, or clocks apart)"),
        REPLAYED("with a sequence number already seen (replayed)"),
        NODE_NOT_HOSTED("for a node its sender does not host");

        private final String description;

        Refusal(String description)
        {
            this.description = description;
        }

        String description()
        {
            return description;
        }
    }

    /**
     * The verdict on one envelope.
     *
     * @param envelope what the bytes say; null only when they are malformed
     * @param refusal null when accepted
     * @param detail why it was refused; empty when accepted
     */
    record Verdict(Envelope envelope, Refusal refusal, String detail)
    {
        boolean accepted()
        {
            return refusal == null;
        }
    }

    /** Who is a member, and whether it is trusted. */
    interface Senders
    {
        /** @return the member's verification, or null when {@code memberId} is not a member */
        Verification verification(UUID memberId);
    }

    private record SenderAndKind(UUID senderId, Kind kind) {}

    private final MessageKeys keys;
    private final Clock clock;
    private final long maxAgeMillis;
    private final ConcurrentMap<SenderAndKind, ReplayWindow> windows = new ConcurrentHashMap<>();

    MessageVerifier(MessageKeys keys, Clock clock, Duration maxAge)
    {
        this.keys = requireNonNull(keys, "keys is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.maxAgeMillis = maxAge.toMillis();
    }

    Verdict verify(byte[] bytes, Kind expected, Senders senders)
    {
        Envelope.Decoded decoded;
        try {
            decoded = Envelope.decode(bytes);
        }
        catch (Envelope.MalformedException e) {
            return new Verdict(null, Refusal.MALFORMED, e.getMessage());
        }
        Envelope envelope = decoded.envelope();
        if (envelope.kind() != expected) {
            return new Verdict(envelope, Refusal.WRONG_KIND, envelope.kind() + " on the " + expected + " topic");
        }
        Verification verification = senders.verification(envelope.senderId());
        if (verification == null) {
            return new Verdict(envelope, Refusal.NOT_A_MEMBER, "member " + envelope.senderId());
        }
        if (!verification.trusted()) {
            return new Verdict(envelope, Refusal.UNTRUSTED_SENDER, verification.problem());
        }
        if (!decoded.signedBy(keys)) {
            return new Verdict(envelope, Refusal.BAD_SIGNATURE, "claimed sender " + envelope.senderId());
        }
        long skewMillis = clock.millis() - envelope.timestampMillis();
        if (Math.abs(skewMillis) > maxAgeMillis) {
            return new Verdict(envelope, Refusal.OUT_OF_TIME, String.format(
                    "sent %sms %s this member's clock, max-message-age is %sms",
                    Math.abs(skewMillis), skewMillis >= 0 ? "behind" : "ahead of", maxAgeMillis));
        }
        if (!windows.computeIfAbsent(new SenderAndKind(envelope.senderId(), expected), key -> new ReplayWindow()).accept(envelope.sequence())) {
            return new Verdict(envelope, Refusal.REPLAYED, expected + " sequence " + envelope.sequence());
        }
        Set<String> hosted = verification.identity().nodeIds();
        if (expected == Kind.SNAPSHOT && !hosted.contains(envelope.nodeId())) {
            return new Verdict(envelope, Refusal.NODE_NOT_HOSTED, "node " + envelope.nodeId() + ", the sender hosts " + hosted);
        }
        return new Verdict(envelope, null, "");
    }

    /**
     * Checks an envelope that was stored rather than sent, such as the coordinator state in a Hazelcast map: well
     * formed, of the expected kind, and signed with its claimed sender's key. Its sender may have left long ago (the
     * coordinator that wrote it died), so neither membership, age nor replay is checked: the caller orders stored
     * envelopes by their sequence.
     */
    Verdict verifyStored(byte[] bytes, Kind expected)
    {
        Envelope.Decoded decoded;
        try {
            decoded = Envelope.decode(bytes);
        }
        catch (Envelope.MalformedException e) {
            return new Verdict(null, Refusal.MALFORMED, e.getMessage());
        }
        Envelope envelope = decoded.envelope();
        if (envelope.kind() != expected) {
            return new Verdict(envelope, Refusal.WRONG_KIND, envelope.kind() + " where a " + expected + " was stored");
        }
        if (!decoded.signedBy(keys)) {
            return new Verdict(envelope, Refusal.BAD_SIGNATURE, "claimed sender " + envelope.senderId());
        }
        return new Verdict(envelope, null, "");
    }

    /** Drops a departed member's replay state: its messages are refused as not from a member from now on. */
    void forget(UUID memberId)
    {
        windows.keySet().removeIf(key -> key.senderId().equals(memberId));
    }
}
