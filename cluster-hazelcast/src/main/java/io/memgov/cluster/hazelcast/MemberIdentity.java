package io.memgov.cluster.hazelcast;

import io.memgov.cluster.hazelcast.MessageKeys.Purpose;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;

import static java.util.Objects.requireNonNull;

/**
 * What a member says about itself in its Hazelcast member attribute: the address it listens on and the memgov nodes
 * it hosts, signed. Member attributes are fixed before a member starts and reach every member with the member list,
 * so every member judges every other one the same way, at the same membership version.
 *
 * <p>The signature covers the address so that a process copying another member's attribute does not verify: it
 * would need that member's address, which is taken while the member lives. A process that takes over the address
 * of a dead member (on the same machine, or by spoofing on the network) with its copied attribute is not detected;
 * the community edition has no member authentication to stop it.
 *
 * @param address {@code ip:port}, as {@link #addressOf} writes it
 * @param nodeIds the nodes the member hosts, possibly none
 */
record MemberIdentity(String address, Set<String> nodeIds)
{
    static final String ATTRIBUTE = "memgov.identity";
    private static final byte VERSION = 1;

    MemberIdentity
    {
        requireNonNull(address, "address is null");
        nodeIds = Set.copyOf(nodeIds);
    }

    static String addressOf(InetSocketAddress socketAddress)
    {
        return socketAddress.getAddress().getHostAddress() + ":" + socketAddress.getPort();
    }

    /** The attribute value: Base64 of version, address, sorted node ids and their HMAC. */
    String encode(MessageKeys keys)
    {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeUTF(address);
            out.writeShort(nodeIds.size());
            for (String nodeId : new TreeSet<>(nodeIds)) {
                out.writeUTF(nodeId);
            }
            out.flush();
            byte[] signed = bytes.toByteArray();
            out.write(keys.sign(Purpose.IDENTITY, address, signed, 0, signed.length));
        }
        catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    /**
     * Checks a member's attribute against the address the member actually has.
     *
     * @param attribute the attribute value, or null when the member has none
     */
    static Verification verify(String attribute, InetSocketAddress actualAddress, MessageKeys keys)
    {
        if (attribute == null) {
            return Verification.untrusted("it has no '" + ATTRIBUTE + "' attribute (not a memgov member)");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(attribute);
        }
        catch (IllegalArgumentException e) {
            return Verification.untrusted("its '" + ATTRIBUTE + "' attribute is not Base64");
        }
        if (bytes.length <= MessageKeys.MAC_BYTES) {
            return Verification.untrusted("its '" + ATTRIBUTE + "' attribute is too short");
        }
        int signedLength = bytes.length - MessageKeys.MAC_BYTES;
        String address;
        Set<String> nodeIds = new TreeSet<>();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, signedLength))) {
            byte version = in.readByte();
            if (version != VERSION) {
                return Verification.untrusted("its '" + ATTRIBUTE + "' attribute has version " + version + ", this member reads " + VERSION);
            }
            address = in.readUTF();
            int count = in.readUnsignedShort();
            for (int i = 0; i < count; i++) {
                nodeIds.add(in.readUTF());
            }
            if (in.available() != 0) {
                return Verification.untrusted("its '" + ATTRIBUTE + "' attribute has trailing bytes");
            }
        }
        catch (IOException e) {
            return Verification.untrusted("its '" + ATTRIBUTE + "' attribute is truncated");
        }
        byte[] mac = Arrays.copyOfRange(bytes, signedLength, bytes.length);
        if (!keys.verify(Purpose.IDENTITY, address, bytes, 0, signedLength, mac)) {
            return Verification.untrusted("the signature of its '" + ATTRIBUTE + "' attribute does not verify (another shared secret or cluster, or forged)");
        }
        String actual = addressOf(actualAddress);
        if (!address.equals(actual)) {
            return Verification.untrusted("its '" + ATTRIBUTE + "' attribute was signed for " + address + " but the member is at " + actual + " (copied)");
        }
        return new Verification(new MemberIdentity(address, nodeIds), "");
    }

    /**
     * A member's trust: its identity, or why it has none.
     *
     * @param identity null when the member is not trusted
     * @param problem empty when the member is trusted
     */
    record Verification(MemberIdentity identity, String problem)
    {
        static Verification untrusted(String problem)
        {
            return new Verification(null, problem);
        }

        boolean trusted()
        {
            return identity != null;
        }
    }
}
