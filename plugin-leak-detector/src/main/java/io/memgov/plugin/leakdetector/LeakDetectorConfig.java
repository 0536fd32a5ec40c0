package io.memgov.plugin.leakdetector;

import io.memgov.spi.policy.PolicyConfigKeys;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The settings of {@code leak-detector}, read from the keys under {@code memory.leak-detector.leak-detector.}.
 *
 * <table>
 *   <caption>Keys</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code grace}</td><td>{@code 60s}</td><td>how long after its end a query may still hold memory before it
 *       is flagged; a non-negative duration such as {@code 500ms}, {@code 30s}, {@code 5m} or {@code 1h}</td></tr>
 * </table>
 *
 * @param grace never null or negative
 */
record LeakDetectorConfig(Duration grace)
{
    static final String GRACE = "grace";
    static final Duration DEFAULT_GRACE = Duration.ofSeconds(60);
    static final Set<String> KEYS = Set.of(GRACE);

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|ms|s|m|h|d)");

    LeakDetectorConfig
    {
        requireNonNull(grace, "grace is null");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace is negative: " + grace);
        }
    }

    static LeakDetectorConfig defaults()
    {
        return new LeakDetectorConfig(DEFAULT_GRACE);
    }

    /**
     * @throws IllegalArgumentException for an unknown key or a bad value, naming the key, the value and what is accepted
     */
    static LeakDetectorConfig from(Map<String, String> config)
    {
        PolicyConfigKeys.checkKnown(config, "leak detector '" + ClusterMemoryLeakDetectorFactory.NAME + "'", KEYS);
        String grace = config.get(GRACE);
        return new LeakDetectorConfig(grace == null ? DEFAULT_GRACE : parseDuration(GRACE, grace));
    }

    /** Parses {@code <number><unit>}, the number possibly with decimals, the unit one of ns, us, ms, s, m, h, d. */
    static Duration parseDuration(String key, String value)
    {
        Matcher matcher = DURATION.matcher(value.trim().toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw invalidDuration(key, value);
        }
        long nanosPerUnit = switch (matcher.group(2)) {
            case "ns" -> 1L;
            case "us" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            case "d" -> 86_400_000_000_000L;
            default -> throw new IllegalStateException("unit not handled: " + matcher.group(2));
        };
        try {
            long nanos = new BigDecimal(matcher.group(1))
                    .multiply(BigDecimal.valueOf(nanosPerUnit))
                    .setScale(0, RoundingMode.HALF_UP)
                    .longValueExact();
            return Duration.ofNanos(nanos);
        }
        catch (ArithmeticException e) {
            throw invalidDuration(key, value);
        }
    }

    private static IllegalArgumentException invalidDuration(String key, String value)
    {
        return new IllegalArgumentException(String.format(
                "Invalid value '%s' for configuration key '%s' of leak detector '%s'. Accepted: a non-negative duration "
                        + "with a unit (ns, us, ms, s, m, h or d), such as 500ms, 30s, 5m or 1h",
                value, key, ClusterMemoryLeakDetectorFactory.NAME));
    }
}
