package io.memgov.plugin.leakdetector;

import io.memgov.spi.policy.PolicyConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class LeakDetectorConfigTest
{
    private static final String PREFIX = "memory.leak-detector.leak-detector.";

    @Test
    void defaultsToTrinosSixtySecondGrace()
    {
        // nothing configured must behave like Trino's hard-wired 60 s
        assertThat(LeakDetectorConfig.from(PolicyConfig.empty())).isEqualTo(LeakDetectorConfig.defaults());
        assertThat(LeakDetectorConfig.defaults().grace()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void mapsEveryKey()
    {
        // every accepted key must reach the config, or a setting would be silently ignored
        assertThat(LeakDetectorConfig.from(config("grace", "30s"))).isEqualTo(new LeakDetectorConfig(Duration.ofSeconds(30)));
        assertThat(LeakDetectorConfig.from(config("grace", "1.5m"))).isEqualTo(new LeakDetectorConfig(Duration.ofSeconds(90)));
        assertThat(LeakDetectorConfig.from(config("grace", "0"))).isEqualTo(new LeakDetectorConfig(Duration.ZERO));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "60", "-5s", "5 minutes", "1x", "1.s", "9999999999999d"})
    void rejectsMalformedDurationsNamingKeyValueAndAcceptedForms(String value)
    {
        // a bad value must fail start-up with a message that says what to write instead
        assertThatThrownBy(() -> LeakDetectorConfig.from(config("grace", value)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Invalid value '" + value + "' for '" + PREFIX + "grace': expected a duration");
    }

    @Test
    void rejectsUnknownKeys()
    {
        // a typo such as "grace-period" must not leave the default silently in force
        assertThatThrownBy(() -> LeakDetectorConfig.from(config("grace-period", "30s")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key '" + PREFIX + "grace-period' (value '30s'). Did you mean '" + PREFIX + "grace'? Accepted under '" + PREFIX + "': [grace]");
    }

    private static PolicyConfig config(String key, String value)
    {
        return PolicyConfig.of(PREFIX, Map.of(key, value));
    }
}
