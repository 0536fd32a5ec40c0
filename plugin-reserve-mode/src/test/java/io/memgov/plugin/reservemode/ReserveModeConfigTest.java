package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;

import static io.memgov.plugin.reservemode.ReserveModeFixture.GIB;
import static io.memgov.plugin.reservemode.ReserveModeFixture.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class ReserveModeConfigTest
{
    @Test
    void defaultsFollowTDengine()
    {
        assertThat(ReserveModeConfig.defaults()).isEqualTo(new ReserveModeConfig(
                MemorySource.SYSTEM,
                OptionalLong.empty(),
                0,
                Duration.ofMillis(10),
                5 * GIB,
                4 * GIB,
                false,
                false,
                Duration.ofHours(5),
                Duration.ofSeconds(1)));
    }

    @Test
    void mapsEveryKey()
    {
        Map<String, String> config = Map.of(
                "source", "heap",
                "min-reserved-memory", "2GB",
                "single-query-max-memory", "512MB",
                "check-interval", "100ms",
                "min-available-at-start", "1073741824",
                "min-free-after-reserve", "1.5GB",
                "fail-if-unavailable", "true",
                "full-statistics", "TRUE",
                "query-idle-timeout", "90s",
                "retire-grace-period", "0");

        assertThat(ReserveModeConfig.parse(config(config))).isEqualTo(new ReserveModeConfig(
                MemorySource.HEAP,
                OptionalLong.of(2 * GIB),
                512 * MIB,
                Duration.ofMillis(100),
                GIB,
                GIB + 512 * MIB,
                true,
                true,
                Duration.ofSeconds(90),
                Duration.ZERO));
    }

    @Test
    void rejectsAnUnknownKeyNamingItAndTheAcceptedKeys()
    {
        assertThatThrownBy(() -> ReserveModeConfig.parse(config(Map.of("min-reserved-memroy", "1GB"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'memory.pool.reserve-mode.min-reserved-memroy'")
                .hasMessageContaining("'1GB'")
                .hasMessageContaining("min-reserved-memory");
    }

    @Test
    void rejectsBadValuesNamingTheKeyTheValueAndWhatIsAccepted()
    {
        // key, bad value, a phrase of what is accepted
        Map<String, String[]> cases = Map.of(
                "source", new String[] {"disk", "one of [system, heap]"},
                "min-reserved-memory", new String[] {"lots", "a size such as 512MB"},
                "single-query-max-memory", new String[] {"-1GB", "a size such as 512MB"},
                "min-available-at-start", new String[] {"5XB", "a size such as 512MB"},
                "min-free-after-reserve", new String[] {"1.5", "a size such as 512MB"},
                "check-interval", new String[] {"10", "a duration such as 500ms"},
                "query-idle-timeout", new String[] {"5 hours", "a duration such as 500ms"},
                "retire-grace-period", new String[] {"-1s", "a duration such as 500ms"},
                "fail-if-unavailable", new String[] {"yes", "true or false"},
                "full-statistics", new String[] {"1", "true or false"});
        cases.forEach((key, valueAndAccepted) -> assertThatThrownBy(() -> ReserveModeConfig.parse(config(Map.of(key, valueAndAccepted[0]))))
                .as(key)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + valueAndAccepted[0] + "'")
                .hasMessageContaining("'memory.pool.reserve-mode." + key + "'")
                .hasMessageContaining(valueAndAccepted[1]));
    }

    @Test
    void rejectsAZeroCheckInterval()
    {
        assertThatThrownBy(() -> ReserveModeConfig.parse(config(Map.of("check-interval", "0ms"))))
                .hasMessageContaining("'memory.pool.reserve-mode.check-interval'")
                .hasMessageContaining("a duration between 1ns and 1d");
    }

    @Test
    void rejectsASizeThatDoesNotFitInALong()
    {
        assertThatThrownBy(() -> ReserveModeConfig.parse(config(Map.of("min-reserved-memory", "99999999PB"))))
                .hasMessageContaining("'99999999PB'")
                .hasMessageContaining("'memory.pool.reserve-mode.min-reserved-memory'");
    }

    @Test
    void factoryRejectsBadConfigurationBeforeTouchingTheNode()
    {
        try (ReserveModeFixture node = new ReserveModeFixture(GIB, 40 * GIB)) {
            assertThatThrownBy(() -> node.create(Map.of("source", "disk"))).isInstanceOf(IllegalArgumentException.class);
            assertThat(node.standardPool()).isNull();
        }
    }

    @Test
    void formatsDurationsTheWayTheyAreWritten()
    {
        assertThat(ReserveModeConfig.format(Duration.ofHours(5))).isEqualTo("5h");
        assertThat(ReserveModeConfig.format(Duration.ofMillis(10))).isEqualTo("10ms");
        assertThat(ReserveModeConfig.format(Duration.ofSeconds(90))).isEqualTo("90s");
    }

    private static PolicyConfig config(Map<String, String> values)
    {
        return PolicyConfig.of(ReserveModeConfig.PREFIX, values);
    }
}
