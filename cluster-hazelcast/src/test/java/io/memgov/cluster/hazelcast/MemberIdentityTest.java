package io.memgov.cluster.hazelcast;

import io.memgov.cluster.hazelcast.MemberIdentity.Verification;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(10)
final class MemberIdentityTest
{
    private static final MessageKeys KEYS = MessageKeys.fromSharedSecret("0123456789abcdef0123".getBytes(StandardCharsets.US_ASCII), "test");
    private static final InetSocketAddress ADDRESS = new InetSocketAddress("127.0.0.1", 5701);

    @Test
    void verifiesForTheMemberAtTheSignedAddress()
    {
        String attribute = new MemberIdentity("127.0.0.1:5701", Set.of("b", "a")).encode(KEYS);

        Verification verification = MemberIdentity.verify(attribute, ADDRESS, KEYS);

        assertThat(verification.problem()).isEmpty();
        assertThat(verification.identity().nodeIds()).containsExactlyInAnyOrder("a", "b");
    }

    @Test
    void aCopiedAttributeDoesNotVerifyAtAnotherAddress()
    {
        // a rogue member copies a trusted member's attribute: it listens on another port, so it stays untrusted
        String attribute = new MemberIdentity("127.0.0.1:5701", Set.of("a")).encode(KEYS);

        Verification verification = MemberIdentity.verify(attribute, new InetSocketAddress("127.0.0.1", 5702), KEYS);

        assertThat(verification.trusted()).isFalse();
        assertThat(verification.problem()).contains("signed for 127.0.0.1:5701 but the member is at 127.0.0.1:5702");
    }

    @Test
    void anAttributeSignedWithAnotherSecretDoesNotVerify()
    {
        MessageKeys rogue = MessageKeys.fromSharedSecret("not the cluster's secret".getBytes(StandardCharsets.US_ASCII), "test");
        String attribute = new MemberIdentity("127.0.0.1:5701", Set.of("a")).encode(rogue);

        assertThat(MemberIdentity.verify(attribute, ADDRESS, KEYS).problem()).contains("signature");
    }

    @Test
    void missingOrDamagedAttributesAreUntrusted()
    {
        String valid = new MemberIdentity("127.0.0.1:5701", Set.of("a")).encode(KEYS);
        byte[] bytes = Base64.getDecoder().decode(valid);
        bytes[5] ^= 1;

        assertThat(MemberIdentity.verify(null, ADDRESS, KEYS).problem()).contains("no 'memgov.identity' attribute");
        assertThat(MemberIdentity.verify("%%%", ADDRESS, KEYS).problem()).contains("not Base64");
        assertThat(MemberIdentity.verify("", ADDRESS, KEYS).problem()).contains("too short");
        assertThat(MemberIdentity.verify(Base64.getEncoder().encodeToString(bytes), ADDRESS, KEYS).trusted()).isFalse();
    }
}
