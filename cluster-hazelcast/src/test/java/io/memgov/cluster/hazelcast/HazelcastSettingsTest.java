package io.memgov.cluster.hazelcast;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(10)
final class HazelcastSettingsTest
{
    private static final String PREFIX = "cluster.transport.hazelcast.";

    @TempDir
    Path directory;

    @Test
    void defaultsAreALoopbackClusterOnTenPorts()
            throws Exception
    {
        HazelcastSettings settings = HazelcastSettings.defaults();

        assertThat(settings.clusterName()).isEqualTo("memgov");
        assertThat(settings.bindAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(settings.port()).isEqualTo(5701);
        assertThat(settings.portCount()).isEqualTo(10);
        assertThat(settings.members()).hasSize(10).first().isEqualTo("127.0.0.1:5701");
        assertThat(settings.members()).last().isEqualTo("127.0.0.1:5710");
        assertThat(settings.joinWait()).isEqualTo(Duration.ZERO);
        assertThat(settings.pollInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(settings.failureDetectionTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.maxMessageAge()).isEqualTo(Duration.ofSeconds(30));
        assertThat(settings.coordinatorQuorum()).isEqualTo(1);
        assertThat(settings.sharedSecretFile()).isNull();
    }

    @Test
    void mapsEveryKey()
            throws Exception
    {
        Path secret = writeSecret("0123456789abcdef0123456789abcdef", "rw-------");
        HazelcastSettings settings = HazelcastSettings.fromProperties(Map.ofEntries(
                Map.entry("cluster-name", "lab-1"),
                Map.entry("interface", "127.0.0.1"),
                Map.entry("port", "6000"),
                Map.entry("port-count", "3"),
                Map.entry("members", "127.0.0.1:6000-6002, localhost:6010"),
                Map.entry("join-wait", "2s"),
                Map.entry("poll-interval", "500ms"),
                Map.entry("failure-detection-timeout", "1m"),
                Map.entry("max-message-age", "1h"),
                Map.entry("coordinator-quorum", "2"),
                Map.entry("shared-secret-file", secret.toString())));

        assertThat(settings.clusterName()).isEqualTo("lab-1");
        assertThat(settings.port()).isEqualTo(6000);
        assertThat(settings.portCount()).isEqualTo(3);
        assertThat(settings.candidatePorts()).containsExactly(6000, 6001, 6002);
        assertThat(settings.members()).containsExactly("127.0.0.1:6000", "127.0.0.1:6001", "127.0.0.1:6002", "localhost:6010");
        assertThat(settings.joinWait()).isEqualTo(Duration.ofSeconds(2));
        assertThat(settings.pollInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(settings.failureDetectionTimeout()).isEqualTo(Duration.ofMinutes(1));
        assertThat(settings.maxMessageAge()).isEqualTo(Duration.ofHours(1));
        assertThat(settings.coordinatorQuorum()).isEqualTo(2);
        assertThat(settings.sharedSecretFile()).isEqualTo(secret);
    }

    @Test
    void badValuesNameTheFullKeyTheValueAndWhatIsAccepted()
    {
        // key, bad value, a piece of the accepted values the message must carry
        List<List<String>> cases = List.of(
                List.of("cluster-name", "my cluster", "letters, digits"),
                List.of("interface", "localhost", "IPv4 address"),
                List.of("interface", "0.0.0.0", "wildcard"),
                List.of("interface", "127.0.0.1,127.0.0.2", "not a host name or a list"),
                List.of("interface", "300.1.1.1", "IPv4 address"),
                List.of("port", "0", "between 1 and 65535"),
                List.of("port", "http", "between 1 and 65535"),
                List.of("port-count", "0", "between 1 and 65535"),
                List.of("members", "127.0.0.1", "host:port or host:first-last"),
                List.of("members", "127.0.0.1:5710-5701", "the first not above the last"),
                List.of("members", "127.0.0.1:1-2000", "at most 1000 addresses"),
                List.of("members", "10.1.2.3:5701", "loopback addresses only"),
                List.of("join-wait", "5", "a duration such as 500ms, 1s or 5m"),
                List.of("poll-interval", "10ms", "between 100ms and 1h"),
                List.of("failure-detection-timeout", "1s", "between 2s and 1h"),
                List.of("max-message-age", "2h", "between 1s and 1h"),
                List.of("coordinator-quorum", "0", "between 1 and 1000"),
                List.of("coordinator-quorum", "many", "between 1 and 1000"),
                List.of("shared-secret-file", " ", "the path of a file holding the shared secret"),
                List.of("mode", "client", "Accepted under 'cluster.transport.hazelcast.': [cluster-name, coordinator-quorum"));
        for (List<String> badCase : cases) {
            String key = badCase.get(0);
            String value = badCase.get(1);
            assertThatThrownBy(() -> HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of(key, value)), Duration.ofSeconds(1)))
                    .as("%s=%s", key, value)
                    .isInstanceOf(PolicyConfigException.class)
                    .hasMessageContaining("'" + PREFIX + key + "'")
                    .hasMessageContaining(value.trim())
                    .hasMessageContaining(badCase.get(2));
        }
    }

    @Test
    void thePollIntervalDefaultsToTheEnginesAtLeast100ms()
    {
        assertThat(HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of()), Duration.ofMillis(250)).pollInterval())
                .isEqualTo(Duration.ofMillis(250));
        assertThat(HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of()), Duration.ofMillis(10)).pollInterval())
                .isEqualTo(Duration.ofMillis(100));
        assertThat(HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of("poll-interval", "2s")), Duration.ofMillis(250)).pollInterval())
                .isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void aPortRangeMustEndAtTheLastPort()
    {
        assertThatThrownBy(() -> HazelcastSettings.fromProperties(Map.of("port", "65530", "port-count", "10")))
                .hasMessage("Invalid value '10' for 'port-count': expected 1 to 6 ports, so that the range starting at 'port' 65530 ends at 65535 at most");
    }

    @Test
    void refusesANonLoopbackInterfaceWithoutASharedSecret()
    {
        // checked before whether this machine has the address, so the refusal does not depend on the machine
        assertThatThrownBy(() -> HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of("interface", "10.255.255.1")), Duration.ofSeconds(1)))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessageContaining("Invalid value '10.255.255.1' for 'cluster.transport.hazelcast.interface': expected a loopback address such as "
                        + "127.0.0.1, or set 'cluster.transport.hazelcast.shared-secret-file'");
    }

    @Test
    void aNonLoopbackInterfaceWithASecretMustBelongToThisMachine()
    {
        assertThatThrownBy(() -> HazelcastSettings.fromProperties(Map.of("interface", "192.0.2.1", "shared-secret-file", "/secret")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Invalid value '192.0.2.1' for 'interface'")
                .hasMessageContaining("no network interface of this machine has that address");
    }

    @Test
    void aBadSecretFileStopsStartUpNamingTheFullKey()
            throws Exception
    {
        Path shared = writeSecret("0123456789abcdef0123456789abcdef", "rw-r--r--");
        assertThatThrownBy(() -> HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of("shared-secret-file", shared.toString())), Duration.ofSeconds(1)))
                .hasMessageContaining("Invalid value '" + shared + "' for 'cluster.transport.hazelcast.shared-secret-file'")
                .hasMessageContaining("chmod 600");
        Path good = writeSecret("0123456789abcdef0123456789abcdef", "rw-------");
        assertThat(HazelcastSettings.fromConfig(PolicyConfig.of(PREFIX, Map.of("shared-secret-file", good.toString())), Duration.ofSeconds(1))
                .sharedSecretFile()).isEqualTo(good);
    }

    @Test
    void theSecretFileMustBeReadableLongEnoughAndPrivate()
            throws Exception
    {
        Path missing = directory.resolve("missing");
        assertThatThrownBy(() -> MessageKeys.readSecret(missing))
                .hasMessageContaining("Invalid value '" + missing + "' for 'shared-secret-file': the file cannot be read");

        Path shortSecret = writeSecret("short\n", "rw-------");
        assertThatThrownBy(() -> MessageKeys.readSecret(shortSecret))
                .hasMessageContaining("'shared-secret-file': the file holds 5 bytes of secret. Accepted: at least 16 bytes");

        Path shared = writeSecret("0123456789abcdef0123456789abcdef", "rw-r--r--");
        assertThatThrownBy(() -> MessageKeys.readSecret(shared))
                .hasMessageContaining("readable or writable by users other than its owner (rw-r--r--)")
                .hasMessageContaining("chmod 600");

        // a trailing newline is not part of the secret
        Path withNewline = writeSecret("0123456789abcdef0123456789abcdef\n", "rw-------");
        assertThat(MessageKeys.readSecret(withNewline)).isEqualTo("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII));
    }

    private Path writeSecret(String content, String permissions)
            throws Exception
    {
        Path file = Files.createTempFile(directory, "secret", "");
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return file;
    }
}
