package io.memgov.plugin.reservemode;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The settings of the {@code reserve-mode} pool, parsed from the keys under {@code memory.pool.reserve-mode.}
 * (prefix stripped). TDengine's names, in memgov's kebab-case:
 *
 * <table>
 * <tr><th>key</th><th>default</th><th>TDengine</th></tr>
 * <tr><td>{@code source}</td><td>{@code system}</td><td>(system available memory)</td></tr>
 * <tr><td>{@code min-reserved-memory}</td><td>auto</td><td>{@code minReservedMemorySize}</td></tr>
 * <tr><td>{@code single-query-max-memory}</td><td>0 (unlimited)</td><td>{@code singleQueryMaxMemorySize}</td></tr>
 * <tr><td>{@code check-interval}</td><td>10ms</td><td>{@code MP_DEFAULT_MEM_CHK_INTERVAL_MS}</td></tr>
 * <tr><td>{@code min-available-at-start}</td><td>5GB</td><td>{@code MP_MIN_MEM_POOL_SIZE}</td></tr>
 * <tr><td>{@code min-free-after-reserve}</td><td>4GB</td><td>{@code MP_MIN_FREE_SIZE_AFTER_RESERVE}</td></tr>
 * <tr><td>{@code fail-if-unavailable}</td><td>false</td><td>(none)</td></tr>
 * <tr><td>{@code full-statistics}</td><td>false</td><td>{@code memPoolFullFunc}</td></tr>
 * <tr><td>{@code query-idle-timeout}</td><td>5h (0 disables)</td><td>{@code queryNoFetchTimeoutSec}</td></tr>
 * <tr><td>{@code retire-grace-period}</td><td>1s (0 disables)</td><td>(none; memgov's)</td></tr>
 * </table>
 *
 * <p>Sizes are 1024-based ({@code 512MB}, {@code 1GB}, {@code 1.5GB}) or plain bytes; durations carry a unit
 * ({@code 10ms}, {@code 5h}); booleans are {@code true} or {@code false}. Unknown keys and bad values throw
 * {@link IllegalArgumentException} naming the key, the value and what is accepted.
 */
record ReserveModeConfig(
        MemorySource source,
        OptionalLong minReservedMemoryBytes,
        long singleQueryMaxMemoryBytes,
        Duration checkInterval,
        long minAvailableAtStartBytes,
        long minFreeAfterReserveBytes,
        boolean failIfUnavailable,
        boolean fullStatistics,
        Duration queryIdleTimeout,
        Duration retireGracePeriod)
{
    static final String PREFIX = "memory.pool.reserve-mode.";

    static final String SOURCE = "source";
    static final String MIN_RESERVED_MEMORY = "min-reserved-memory";
    static final String SINGLE_QUERY_MAX_MEMORY = "single-query-max-memory";
    static final String CHECK_INTERVAL = "check-interval";
    static final String MIN_AVAILABLE_AT_START = "min-available-at-start";
    static final String MIN_FREE_AFTER_RESERVE = "min-free-after-reserve";
    static final String FAIL_IF_UNAVAILABLE = "fail-if-unavailable";
    static final String FULL_STATISTICS = "full-statistics";
    static final String QUERY_IDLE_TIMEOUT = "query-idle-timeout";
    static final String RETIRE_GRACE_PERIOD = "retire-grace-period";

    private static final Set<String> KEYS = Set.of(SOURCE, MIN_RESERVED_MEMORY, SINGLE_QUERY_MAX_MEMORY, CHECK_INTERVAL,
            MIN_AVAILABLE_AT_START, MIN_FREE_AFTER_RESERVE, FAIL_IF_UNAVAILABLE, FULL_STATISTICS, QUERY_IDLE_TIMEOUT,
            RETIRE_GRACE_PERIOD);

    private static final long GB = 1L << 30;
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]+)");
    private static final String SIZES_ACCEPTED = "a size such as 512MB, 1GB or 1.5GB (units B, kB, MB, GB, TB, PB, 1024-based) or a number of bytes";
    private static final String DURATIONS_ACCEPTED = "a duration such as 10ms, 1s, 5m or 5h (units ns, us, ms, s, m, h, d)";

    ReserveModeConfig
    {
        requireNonNull(source, "source is null");
        requireNonNull(minReservedMemoryBytes, "minReservedMemoryBytes is null");
        requireNonNull(checkInterval, "checkInterval is null");
        requireNonNull(queryIdleTimeout, "queryIdleTimeout is null");
        requireNonNull(retireGracePeriod, "retireGracePeriod is null");
    }

    static ReserveModeConfig defaults()
    {
        return parse(Map.of());
    }

    static ReserveModeConfig parse(Map<String, String> config)
    {
        requireNonNull(config, "config is null");
        Set<String> unknown = new TreeSet<>(config.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            String key = unknown.iterator().next();
            throw new IllegalArgumentException(String.format(
                    "Unknown configuration key '%s%s' (value '%s'). Accepted keys: %s",
                    PREFIX, key, config.get(key), new TreeSet<>(KEYS)));
        }
        String minReserved = config.get(MIN_RESERVED_MEMORY);
        Duration checkInterval = duration(config, CHECK_INTERVAL, "10ms");
        if (checkInterval.isZero()) {
            throw invalid(CHECK_INTERVAL, config.get(CHECK_INTERVAL), "a positive duration such as 10ms");
        }
        return new ReserveModeConfig(
                source(config.getOrDefault(SOURCE, "system")),
                minReserved == null ? OptionalLong.empty() : OptionalLong.of(size(MIN_RESERVED_MEMORY, minReserved)),
                size(SINGLE_QUERY_MAX_MEMORY, config.getOrDefault(SINGLE_QUERY_MAX_MEMORY, "0")),
                checkInterval,
                size(MIN_AVAILABLE_AT_START, config.getOrDefault(MIN_AVAILABLE_AT_START, "5GB")),
                size(MIN_FREE_AFTER_RESERVE, config.getOrDefault(MIN_FREE_AFTER_RESERVE, "4GB")),
                bool(FAIL_IF_UNAVAILABLE, config.getOrDefault(FAIL_IF_UNAVAILABLE, "false")),
                bool(FULL_STATISTICS, config.getOrDefault(FULL_STATISTICS, "false")),
                duration(config, QUERY_IDLE_TIMEOUT, "5h"),
                duration(config, RETIRE_GRACE_PERIOD, "1s"));
    }

    /**
     * The reserve of available memory to keep: {@code min-reserved-memory} when set, otherwise TDengine's automatic
     * reserve, {@code max(1GB, 20% of total)} for system memory and 20% of the maximum heap for the heap.
     */
    long reserveBytes(long totalBytes)
    {
        if (minReservedMemoryBytes.isPresent()) {
            return minReservedMemoryBytes.getAsLong();
        }
        return autoReserveBytes(source, totalBytes);
    }

    static long autoReserveBytes(MemorySource source, long totalBytes)
    {
        long fifth = totalBytes / 5;
        return source == MemorySource.SYSTEM ? Math.max(GB, fifth) : fifth;
    }

    private static MemorySource source(String value)
    {
        String normalized = value.trim().toLowerCase(Locale.ROOT);
        for (MemorySource source : MemorySource.values()) {
            if (source.configName().equals(normalized)) {
                return source;
            }
        }
        throw invalid(SOURCE, value, "system or heap");
    }

    static long size(String key, String value)
    {
        Matcher matcher = SIZE.matcher(value.trim());
        if (matcher.matches()) {
            long multiplier = switch (matcher.group(2).toUpperCase(Locale.ROOT)) {
                case "", "B" -> 1L;
                case "KB", "KIB" -> 1L << 10;
                case "MB", "MIB" -> 1L << 20;
                case "GB", "GIB" -> 1L << 30;
                case "TB", "TIB" -> 1L << 40;
                case "PB", "PIB" -> 1L << 50;
                default -> -1L;
            };
            boolean fraction = matcher.group(1).contains(".");
            if (multiplier > 0 && !(fraction && multiplier == 1)) {
                double bytes = Double.parseDouble(matcher.group(1)) * multiplier;
                if (bytes < Long.MAX_VALUE) {
                    return fraction ? (long) bytes : Math.multiplyExact(Long.parseLong(matcher.group(1)), multiplier);
                }
            }
        }
        throw invalid(key, value, SIZES_ACCEPTED);
    }

    private static Duration duration(Map<String, String> config, String key, String defaultValue)
    {
        String value = config.getOrDefault(key, defaultValue);
        String trimmed = value.trim();
        // a bare zero needs no unit: "query-idle-timeout=0" reads naturally as "disabled"
        if (trimmed.equals("0")) {
            return Duration.ZERO;
        }
        Matcher matcher = DURATION.matcher(trimmed);
        if (matcher.matches()) {
            long nanosPerUnit = switch (matcher.group(2)) {
                case "ns" -> 1L;
                case "us" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                case "d" -> 86_400_000_000_000L;
                default -> -1L;
            };
            if (nanosPerUnit > 0) {
                double nanos = Double.parseDouble(matcher.group(1)) * nanosPerUnit;
                if (nanos < Long.MAX_VALUE) {
                    return Duration.ofNanos((long) nanos);
                }
            }
        }
        throw invalid(key, value, DURATIONS_ACCEPTED);
    }

    /** A duration the way the config writes it: {@code 5h}, {@code 90s}, {@code 10ms}. */
    static String format(Duration duration)
    {
        long nanos = duration.toNanos();
        long[] units = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L};
        String[] names = {"d", "h", "m", "s", "ms", "us"};
        for (int i = 0; i < units.length; i++) {
            if (nanos >= units[i] && nanos % units[i] == 0) {
                return nanos / units[i] + names[i];
            }
        }
        return nanos + "ns";
    }

    private static boolean bool(String key, String value)
    {
        String normalized = value.trim().toLowerCase(Locale.ROOT);
        if (normalized.equals("true")) {
            return true;
        }
        if (normalized.equals("false")) {
            return false;
        }
        throw invalid(key, value, "true or false");
    }

    private static IllegalArgumentException invalid(String key, String value, String accepted)
    {
        return new IllegalArgumentException(String.format("Invalid value '%s' for '%s%s': expected %s", value, PREFIX, key, accepted));
    }
}
