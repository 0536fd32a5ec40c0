package io.memgov.spi.policy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class PolicyConfigTest
{
    private static final String PREFIX = "memory.pool.reserve-mode.";
    private static final long KB = 1024;
    private static final long MB = KB * KB;
    private static final long GB = MB * KB;

    private enum Mode
    {
        SYSTEM,
        LEAST_WASTE,
    }

    @ParameterizedTest
    @CsvSource({
            "0, 0",
            "1024, 1024",
            "17B, 17",
            "64kB, 65536",
            "64KB, 65536",
            "64k, 65536",
            "64KiB, 65536",
            "512MB, 536870912",
            "512 MB, 536870912",
            "1.5GB, 1610612736",
            "1GiB, 1073741824",
            "' 2 gb ', 2147483648",
            "1TB, 1099511627776",
            "1PB, 1125899906842624",
            "1.5kB, 1536",
    })
    void parsesSizesInOneGrammar(String value, long bytes)
    {
        assertThat(PolicyConfig.parseSize("k", value)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "-1", "1XB", "MB", "1.MB", "1,5GB", "99999999999999999999PB", "abc", "1 2MB", "1.5", "1.5B"})
    void refusesBadSizesNamingTheKeyTheValueAndWhatIsAccepted(String value)
    {
        assertThatThrownBy(() -> PolicyConfig.parseSize("query.max-memory", value))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessageStartingWith("Invalid value '" + value + "' for 'query.max-memory': expected a size");
    }

    @Test
    void refusesSizesThatOverflowALong()
    {
        assertThatThrownBy(() -> PolicyConfig.parseSize("k", "8192PB"))
                .hasMessage("Invalid value '8192PB' for 'k': expected a size of at most 8EB");
        assertThat(PolicyConfig.parseSize("k", String.valueOf(Long.MAX_VALUE))).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void parsesSharesOfAWhole()
    {
        assertThat(PolicyConfig.parseSizeOrShare("k", "30%", 1000)).isEqualTo(300);
        assertThat(PolicyConfig.parseSizeOrShare("k", "12.5%", 1000)).isEqualTo(125);
        assertThat(PolicyConfig.parseSizeOrShare("k", "100%", 1000)).isEqualTo(1000);
        assertThat(PolicyConfig.parseSizeOrShare("k", "0%", 1000)).isZero();
        assertThat(PolicyConfig.parseSizeOrShare("k", "1kB", 1000)).isEqualTo(1024);
        for (String bad : List.of("101%", "-1%", "%", "x%", "30 %%")) {
            assertThatThrownBy(() -> PolicyConfig.parseSizeOrShare("k", bad, 1000))
                    .isInstanceOf(PolicyConfigException.class)
                    .hasMessage("Invalid value '" + bad + "' for 'k': expected a size such as 512MB or 4GB, or a percentage between 0% and 100% such as 30%");
        }
    }

    @ParameterizedTest
    @CsvSource({
            "0, 0",
            "100ns, 100",
            "5us, 5000",
            "500ms, 500000000",
            "1s, 1000000000",
            "1.5s, 1500000000",
            "2m, 120000000000",
            "1h, 3600000000000",
            "1d, 86400000000000",
            "' 10 ms ', 10000000",
    })
    void parsesDurations(String value, long nanos)
    {
        assertThat(PolicyConfig.parseDuration("k", value)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1", "10", "-1s", "1x", "s", "1 s s", "999999999999999999d"})
    void refusesBadDurations(String value)
    {
        assertThatThrownBy(() -> PolicyConfig.parseDuration("memory.cluster.poll-interval", value))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessageStartingWith("Invalid value '" + value + "' for 'memory.cluster.poll-interval': expected a duration");
    }

    @Test
    void parsesRatiosAsFractionsOrPercentages()
    {
        assertThat(PolicyConfig.parseRatio("k", "0.9")).isEqualTo(0.9);
        assertThat(PolicyConfig.parseRatio("k", "90%")).isEqualTo(0.9);
        assertThat(PolicyConfig.parseRatio("k", "1")).isEqualTo(1.0);
        assertThat(PolicyConfig.parseRatio("k", "0")).isEqualTo(0.0);
        for (String bad : List.of("1.1", "-0.1", "101%", "NaN", "Infinity", "", "0.9x")) {
            assertThatThrownBy(() -> PolicyConfig.parseRatio("memory-revoking-threshold", bad))
                    .hasMessage("Invalid value '" + bad + "' for 'memory-revoking-threshold': expected a ratio between 0 and 1 such as 0.9, or a percentage such as 90%");
        }
    }

    @Test
    void parsesBooleansIntegersChoicesAndLists()
    {
        assertThat(PolicyConfig.parseBoolean("k", "TRUE")).isTrue();
        assertThat(PolicyConfig.parseBoolean("k", " false ")).isFalse();
        assertThatThrownBy(() -> PolicyConfig.parseBoolean("k", "yes")).hasMessage("Invalid value 'yes' for 'k': expected true or false");

        assertThat(PolicyConfig.parseLong("k", "7", 1, 10)).isEqualTo(7);
        assertThatThrownBy(() -> PolicyConfig.parseLong("k", "11", 1, 10)).hasMessage("Invalid value '11' for 'k': expected a whole number between 1 and 10");
        assertThatThrownBy(() -> PolicyConfig.parseLong("k", "99999999999999999999", 1, Long.MAX_VALUE))
                .hasMessage("Invalid value '99999999999999999999' for 'k': expected a whole number of at least 1");

        assertThat(PolicyConfig.parseChoice("k", "least-waste", Mode.class)).isEqualTo(Mode.LEAST_WASTE);
        assertThat(PolicyConfig.parseChoice("k", "LEAST_WASTE", Mode.class)).isEqualTo(Mode.LEAST_WASTE);
        assertThatThrownBy(() -> PolicyConfig.parseChoice("k", "heap", Mode.class)).hasMessage("Invalid value 'heap' for 'k': expected one of [system, least-waste]");

        assertThat(PolicyConfig.parseList("k", " a, b ,c")).containsExactly("a", "b", "c");
        assertThatThrownBy(() -> PolicyConfig.parseList("k", "a,,b")).hasMessage("Invalid value 'a,,b' for 'k': expected comma-separated values without empty items");
    }

    @Test
    void gettersNameTheFullKeyAndFallBackToTheirDefaults()
    {
        PolicyConfig config = PolicyConfig.of(PREFIX, Map.of("reserve-size", "1GB", "check-interval", "oops"));
        assertThat(config.size("reserve-size", 0)).isEqualTo(GB);
        assertThat(config.size("absent", 42)).isEqualTo(42);
        assertThat(config.duration("absent", Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
        assertThatThrownBy(() -> config.duration("check-interval", Duration.ZERO))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessage("Invalid value 'oops' for 'memory.pool.reserve-mode.check-interval': expected a duration such as 500ms, 1s or 5m")
                .satisfies(e -> {
                    PolicyConfigException error = (PolicyConfigException) e;
                    assertThat(error.key()).isEqualTo("memory.pool.reserve-mode.check-interval");
                    assertThat(error.value()).contains("oops");
                });
    }

    @Test
    void boundedGettersRefuseValuesOutsideTheirBounds()
    {
        PolicyConfig config = PolicyConfig.of(PREFIX, Map.of("size", "2GB", "interval", "1ns"));
        assertThatThrownBy(() -> config.size("size", 0, 1, GB))
                .hasMessage("Invalid value '2GB' for 'memory.pool.reserve-mode.size': expected a size between 1B and 1GB");
        assertThatThrownBy(() -> config.duration("interval", Duration.ofSeconds(1), Duration.ofMillis(10), Duration.ofHours(1)))
                .hasMessage("Invalid value '1ns' for 'memory.pool.reserve-mode.interval': expected a duration between 10ms and 1h");
        // a default outside the bounds is the caller's business, not the user's
        assertThat(config.size("absent", 0, 1, GB)).isZero();
    }

    @Test
    void refusesUnknownKeysInSortedOrderWithTheNearestAcceptedKey()
    {
        // insertion order puts "zeta" first; the message must still name the first key in sorted order
        Map<String, String> values = new LinkedHashMap<>();
        values.put("zeta", "1");
        values.put("reserve-sise", "1GB");
        PolicyConfig config = PolicyConfig.of(PREFIX, values);
        assertThatThrownBy(() -> config.requireOnly("reserve-size", "check-interval"))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessage("Unknown configuration key 'memory.pool.reserve-mode.reserve-sise' (value '1GB'). "
                        + "Did you mean 'memory.pool.reserve-mode.reserve-size'? Accepted under 'memory.pool.reserve-mode.': [check-interval, reserve-size]");
    }

    @Test
    void suggestsNothingWhenNoAcceptedKeyIsClose()
    {
        PolicyConfig config = PolicyConfig.of(PREFIX, Map.of("completely-different", "1"));
        assertThatThrownBy(() -> config.requireOnly("reserve-size"))
                .hasMessage("Unknown configuration key 'memory.pool.reserve-mode.completely-different' (value '1'). Accepted under 'memory.pool.reserve-mode.': [reserve-size]");
        assertThatThrownBy(() -> config.requireOnly())
                .hasMessage("Unknown configuration key 'memory.pool.reserve-mode.completely-different' (value '1'). No keys are accepted under 'memory.pool.reserve-mode.'");
    }

    @Test
    void acceptsKnownKeysAndCopiesItsInput()
    {
        Map<String, String> values = new LinkedHashMap<>(Map.of("b", "2", "a", "1"));
        PolicyConfig config = PolicyConfig.of(PREFIX, values);
        values.put("c", "3");
        config.requireOnly("a", "b");
        assertThat(config.keys()).containsExactly("a", "b");
        assertThat(config.fullKey("a")).isEqualTo(PREFIX + "a");
        assertThat(config.toString()).isEqualTo("{memory.pool.reserve-mode.a=1, memory.pool.reserve-mode.b=2}");
        assertThatThrownBy(() -> config.asMap().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void refusesNullKeysAndValues()
    {
        Map<String, String> withNull = new LinkedHashMap<>();
        withNull.put("a", null);
        assertThatThrownBy(() -> PolicyConfig.of(PREFIX, withNull)).isInstanceOf(NullPointerException.class).hasMessage("value of 'memory.pool.reserve-mode.a' is null");
        assertThatThrownBy(() -> PolicyConfig.of(null, Map.of())).isInstanceOf(NullPointerException.class);
    }

    @Test
    void formatsDurationsInTheSameGrammar()
    {
        assertThat(PolicyConfig.format(Duration.ofMillis(500))).isEqualTo("500ms");
        assertThat(PolicyConfig.format(Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(PolicyConfig.format(Duration.ofHours(48))).isEqualTo("2d");
        assertThat(PolicyConfig.format(Duration.ZERO)).isEqualTo("0s");
        assertThat(PolicyConfig.parseDuration("k", PolicyConfig.format(Duration.ofNanos(1234)))).isEqualTo(Duration.ofNanos(1234));
    }
}
