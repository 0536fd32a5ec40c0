package io.memgov.cluster.hazelcast;

import io.memgov.cluster.hazelcast.MessageKeys.Purpose;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * A snapshot, command or coordinator state as it travels: who sent it, its sequence number and time, where it goes,
 * the opaque payload, and an HMAC-SHA256 over all of that. Layout, big-endian:
 * <pre>
 * version (1) | kind (1) | sender member UUID (16) | sequence (8) | timestamp millis (8)
 * snapshot: node id (2 + UTF-8)
 * command:  target node count (2) | node ids (2 + UTF-8 each) | target member count (2) | member UUIDs (16 each)
 * state:    nothing more (the sequence is the state's version)
 * payload length (4) | payload | HMAC-SHA256 (32), keyed for the kind and the sender
 * </pre>
 *
 * @param nodeId the snapshot's node; empty for a command or a state
 * @param targetNodeIds a command's target nodes, empty meaning all; empty for a snapshot
 * @param targetMemberIds the members a command is addressed to (the sender resolved its targets); empty for a snapshot
 * @param payload not copied
 */
record Envelope(
        Kind kind,
        UUID senderId,
        long sequence,
        long timestampMillis,
        String nodeId,
        Set<String> targetNodeIds,
        Set<UUID> targetMemberIds,
        byte[] payload)
{
    static final byte VERSION = 1;
    // version, kind, sender, sequence, timestamp, payload length; the node id or targets come on top
    static final int FIXED_BYTES = 1 + 1 + 16 + 8 + 8 + 4 + MessageKeys.MAC_BYTES;
    private static final int MAX_TARGETS = 65535;

    enum Kind
    {
        SNAPSHOT(1, Purpose.SNAPSHOT),
        COMMAND(2, Purpose.COMMAND),
        STATE(3, Purpose.STATE);

        private final byte code;
        private final Purpose purpose;

        Kind(int code, Purpose purpose)
        {
            this.code = (byte) code;
            this.purpose = purpose;
        }
    }

    Envelope
    {
        requireNonNull(kind, "kind is null");
        requireNonNull(senderId, "senderId is null");
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(payload, "payload is null");
        targetNodeIds = Set.copyOf(targetNodeIds);
        targetMemberIds = Set.copyOf(targetMemberIds);
        if (targetNodeIds.size() > MAX_TARGETS || targetMemberIds.size() > MAX_TARGETS) {
            throw new IllegalArgumentException("more than " + MAX_TARGETS + " targets");
        }
        if (kind == Kind.SNAPSHOT && (nodeId.isEmpty() || !targetNodeIds.isEmpty() || !targetMemberIds.isEmpty())) {
            throw new IllegalArgumentException("a snapshot names its node and no targets");
        }
        if (kind == Kind.COMMAND && (!nodeId.isEmpty() || targetMemberIds.isEmpty())) {
            throw new IllegalArgumentException("a command names its target members and no node of its own");
        }
        if (kind == Kind.STATE && (!nodeId.isEmpty() || !targetNodeIds.isEmpty() || !targetMemberIds.isEmpty())) {
            throw new IllegalArgumentException("a coordinator state names no node and no targets");
        }
    }

    static Envelope snapshot(UUID senderId, long sequence, long timestampMillis, String nodeId, byte[] payload)
    {
        return new Envelope(Kind.SNAPSHOT, senderId, sequence, timestampMillis, nodeId, Set.of(), Set.of(), payload);
    }

    static Envelope command(UUID senderId, long sequence, long timestampMillis, Set<String> targetNodeIds, Set<UUID> targetMemberIds, byte[] payload)
    {
        return new Envelope(Kind.COMMAND, senderId, sequence, timestampMillis, "", targetNodeIds, targetMemberIds, payload);
    }

    /** The coordinator's state, numbered {@code version}: the versions only grow, across coordinators too. */
    static Envelope state(UUID senderId, long version, long timestampMillis, byte[] payload)
    {
        return new Envelope(Kind.STATE, senderId, version, timestampMillis, "", Set.of(), Set.of(), payload);
    }

    /** The signed wire form. */
    byte[] sign(MessageKeys keys)
    {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(FIXED_BYTES + nodeId.length() + payload.length + 64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeByte(kind.code);
            writeUuid(out, senderId);
            out.writeLong(sequence);
            out.writeLong(timestampMillis);
            if (kind == Kind.SNAPSHOT) {
                out.writeUTF(nodeId);
            }
            else if (kind == Kind.COMMAND) {
                out.writeShort(targetNodeIds.size());
                for (String target : targetNodeIds) {
                    out.writeUTF(target);
                }
                out.writeShort(targetMemberIds.size());
                for (UUID target : targetMemberIds) {
                    writeUuid(out, target);
                }
            }
            out.writeInt(payload.length);
            out.write(payload);
            out.flush();
            int signedLength = bytes.size();
            out.write(keys.sign(kind.purpose, senderId.toString(), bytes.toByteArray(), 0, signedLength));
        }
        catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return bytes.toByteArray();
    }

    /**
     * Reads a wire form without trusting it: the result says what the bytes claim, and {@link Decoded#signedBy}
     * checks the claim.
     *
     * @throws MalformedException when the bytes are not a complete envelope of this version
     */
    static Decoded decode(byte[] bytes)
            throws MalformedException
    {
        requireNonNull(bytes, "bytes is null");
        if (bytes.length < FIXED_BYTES) {
            throw new MalformedException(bytes.length + " bytes, shorter than any envelope");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - MessageKeys.MAC_BYTES))) {
            byte version = in.readByte();
            if (version != VERSION) {
                throw new MalformedException("version " + version + ", expected " + VERSION);
            }
            byte code = in.readByte();
            Kind kind = null;
            for (Kind candidate : Kind.values()) {
                if (candidate.code == code) {
                    kind = candidate;
                }
            }
            if (kind == null) {
                throw new MalformedException("unknown kind " + code);
            }
            UUID sender = readUuid(in);
            long sequence = in.readLong();
            long timestamp = in.readLong();
            String nodeId = "";
            Set<String> targetNodeIds = new LinkedHashSet<>();
            Set<UUID> targetMemberIds = new LinkedHashSet<>();
            if (kind == Kind.SNAPSHOT) {
                nodeId = in.readUTF();
            }
            else if (kind == Kind.COMMAND) {
                int nodes = in.readUnsignedShort();
                for (int i = 0; i < nodes; i++) {
                    targetNodeIds.add(in.readUTF());
                }
                int members = in.readUnsignedShort();
                for (int i = 0; i < members; i++) {
                    targetMemberIds.add(readUuid(in));
                }
            }
            int payloadLength = in.readInt();
            if (payloadLength < 0 || payloadLength != in.available()) {
                throw new MalformedException("payload length " + payloadLength + " but " + in.available() + " bytes left before the signature");
            }
            byte[] payload = in.readNBytes(payloadLength);
            Envelope envelope = new Envelope(kind, sender, sequence, timestamp, nodeId, targetNodeIds, targetMemberIds, payload);
            return new Decoded(envelope, bytes);
        }
        catch (IOException | IllegalArgumentException e) {
            throw new MalformedException(e.toString());
        }
    }

    private static void writeUuid(DataOutputStream out, UUID uuid)
            throws IOException
    {
        out.writeLong(uuid.getMostSignificantBits());
        out.writeLong(uuid.getLeastSignificantBits());
    }

    private static UUID readUuid(DataInputStream in)
            throws IOException
    {
        return new UUID(in.readLong(), in.readLong());
    }

    /** An envelope read from bytes whose signature is not checked yet. */
    record Decoded(Envelope envelope, byte[] bytes)
    {
        boolean signedBy(MessageKeys keys)
        {
            int signedLength = bytes.length - MessageKeys.MAC_BYTES;
            byte[] mac = Arrays.copyOfRange(bytes, signedLength, bytes.length);
            return keys.verify(envelope.kind.purpose, envelope.senderId.toString(), bytes, 0, signedLength, mac);
        }
    }

    static final class MalformedException
            extends Exception
    {
        MalformedException(String message)
        {
            super(message);
        }
    }
}
