package io.memgov.plugin.leakdetector;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class LeakDetectorConfigTest
{
    @Test
    void defaultsToTrinosSixtySecondGrace()
    {
        // nothing configured must behave like Trino's hard-wired 60 s
        assertThat(LeakDetectorConfig.from(Map.of())).isEqualTo(LeakDetectorConfig.defaults());
        assertThat(LeakDetectorConfig.defaults().grace()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void mapsEveryKey()
    {
        // every accepted key must reach the config, or a setting would be silently ignored
        assertThat(LeakDetectorConfig.from(Map.of("grace", "30s"))).isEqualTo(new LeakDetectorConfig(Duration.ofSeconds(30)));
    }

    @Test
    void acceptsDurationsInTheUsualForms()
    {
        // the forms users copy from Trino/airlift configuration
        assertThat(LeakDetectorConfig.parseDuration("grace", "500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(LeakDetectorConfig.parseDuration("grace", "30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(LeakDetectorConfig.parseDuration("grace", "5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(LeakDetectorConfig.parseDuration("grace", "1h")).isEqualTo(Duration.ofHours(1));
        assertThat(LeakDetectorConfig.parseDuration("grace", "1.5m")).isEqualTo(Duration.ofSeconds(90));
        assertThat(LeakDetectorConfig.parseDuration("grace", " 2 d ")).isEqualTo(Duration.ofDays(2));
        assertThat(LeakDetectorConfig.parseDuration("grace", "0s")).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "60", "-5s", "5 minutes", "1x", "1.s", "9999999999999d"})
    void rejectsMalformedDurationsNamingKeyValueAndAcceptedForms(String value)
    {
        // a bad value must fail start-up with a message that says what to write instead
        assertThatThrownBy(() -> LeakDetectorConfig.from(Map.of("grace", value)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value '" + value + "' for configuration key 'grace' of leak detector 'leak-detector'. "
                        + "Accepted: a non-negative duration with a unit (ns, us, ms, s, m, h or d), such as 500ms, 30s, 5m or 1h");
    }

    @Test
    void rejectsUnknownKeys()
    {
        // a typo such as "grace-period" must not leave the default silently in force
        assertThatThrownBy(() -> LeakDetectorConfig.from(Map.of("grace-period", "30s")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'grace-period' for leak detector 'leak-detector'. Accepted: [grace]");
    }
}
