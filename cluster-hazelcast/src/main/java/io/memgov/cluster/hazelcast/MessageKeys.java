package io.memgov.cluster.hazelcast;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

import static io.memgov.cluster.hazelcast.HazelcastSettings.SHARED_SECRET_FILE;
import static java.util.Objects.requireNonNull;

/**
 * HMAC-SHA256 keys for one cluster. A cluster key is derived from the shared secret and the cluster name; each
 * message is signed with a key derived from the cluster key, the message's purpose and its sender, so a signature
 * made for one sender, purpose or cluster never verifies for another. Everyone holding the secret can derive every
 * sender's key: the per-sender keys separate domains, they do not authenticate one secret holder to another.
 */
final class MessageKeys
{
    static final int MAC_BYTES = 32;
    static final int MIN_SECRET_BYTES = 16;
    private static final String ALGORITHM = "HmacSHA256";

    /** What a signature is for; part of the derived key. */
    enum Purpose
    {
        IDENTITY("identity"),
        SNAPSHOT("snapshot"),
        COMMAND("command"),
        STATE("coordinator-state");

        private final String label;

        Purpose(String label)
        {
            this.label = label;
        }
    }

    private final byte[] clusterKey;
    private final boolean fromSharedSecret;

    private MessageKeys(byte[] clusterKey, boolean fromSharedSecret)
    {
        this.clusterKey = clusterKey;
        this.fromSharedSecret = fromSharedSecret;
    }

    /** Keys from the settings' secret file, or from the cluster name when no file is configured. */
    static MessageKeys forSettings(HazelcastSettings settings)
    {
        if (settings.sharedSecretFile() == null) {
            return fromClusterName(settings.clusterName());
        }
        byte[] secret = readSecret(settings.sharedSecretFile());
        try {
            return fromSharedSecret(secret, settings.clusterName());
        }
        finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    static MessageKeys fromSharedSecret(byte[] secret, String clusterName)
    {
        requireNonNull(secret, "secret is null");
        if (secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("secret has " + secret.length + " bytes, at least " + MIN_SECRET_BYTES + " are needed");
        }
        return new MessageKeys(hmac(secret, utf8("memgov/v1/cluster/" + clusterName)), true);
    }

    /**
     * Keys anyone who knows the cluster name can derive: they keep apart clusters and versions that meet by accident
     * (a wrong port, a leftover process), they do not keep out an attacker.
     */
    static MessageKeys fromClusterName(String clusterName)
    {
        return new MessageKeys(hmac(utf8("memgov/v1/no-shared-secret"), utf8("memgov/v1/cluster/" + clusterName)), false);
    }

    boolean fromSharedSecret()
    {
        return fromSharedSecret;
    }

    byte[] sign(Purpose purpose, String senderId, byte[] data, int offset, int length)
    {
        byte[] senderKey = hmac(clusterKey, utf8(purpose.label + "/" + senderId));
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(senderKey, ALGORITHM));
            mac.update(data, offset, length);
            return mac.doFinal();
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
        finally {
            Arrays.fill(senderKey, (byte) 0);
        }
    }

    /** Constant-time comparison of the expected signature with {@code mac}. */
    boolean verify(Purpose purpose, String senderId, byte[] data, int offset, int length, byte[] mac)
    {
        return MessageDigest.isEqual(sign(purpose, senderId, data, offset, length), mac);
    }

    private static byte[] hmac(byte[] key, byte[] data)
    {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(key, ALGORITHM));
            return mac.doFinal(data);
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    private static byte[] utf8(String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The secret is the file's bytes without trailing white space (a final newline from an editor or {@code echo}
     * must not change the key).
     */
    static byte[] readSecret(Path file)
    {
        return readSecret(file, SHARED_SECRET_FILE);
    }

    /** As {@link #readSecret(Path)}, naming the key as {@code key} in messages (e.g. with the engine's prefix). */
    static byte[] readSecret(Path file, String key)
    {
        PosixFileAttributeView posix = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        byte[] content;
        try {
            if (posix != null) {
                Set<PosixFilePermission> permissions = posix.readAttributes().permissions();
                Set<PosixFilePermission> shared = EnumSet.of(
                        PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
                shared.retainAll(permissions);
                if (!shared.isEmpty()) {
                    throw new IllegalArgumentException(String.format(
                            "Invalid value '%s' for '%s': the file is readable or writable by users other than its owner (%s). Accepted: a "
                                    + "file only its owner can read and write, e.g. after chmod 600",
                            file, key, PosixFilePermissions.toString(permissions)));
                }
            }
            content = Files.readAllBytes(file);
        }
        catch (IOException e) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': the file cannot be read (%s). Accepted: a readable file holding the shared secret",
                    file, key, e), e);
        }
        int length = content.length;
        while (length > 0 && Character.isWhitespace(content[length - 1])) {
            length--;
        }
        byte[] secret = Arrays.copyOf(content, length);
        Arrays.fill(content, (byte) 0);
        if (secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': the file holds %s bytes of secret. Accepted: at least %s bytes, e.g. the output of "
                            + "'openssl rand -base64 32'", file, key, secret.length, MIN_SECRET_BYTES));
        }
        return secret;
    }
}
