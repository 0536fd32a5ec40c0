package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyConfig;

import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

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
 * <tr><td>{@code query-idle-timeout}</td><td>5h (0 disables)</td><td>{@code queryNoFetchTimeoutSec}: since the last
 * results fetch the host reported, or the last reservation change of a query with no fetch reported</td></tr>
 * <tr><td>{@code retire-grace-period}</td><td>1s (0 disables)</td><td>(none; memgov's)</td></tr>
 * </table>
 *
 * <p>Values follow {@link PolicyConfig}'s grammar: sizes {@code 512MB}, {@code 1.5GB} or plain bytes; durations
 * {@code 10ms}, {@code 5h} or a bare {@code 0}; booleans {@code true} or {@code false}. Unknown keys and bad values
 * throw {@link IllegalArgumentException} naming the key, the value and what is accepted.
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
        return parse(PolicyConfig.of(PREFIX, Map.of()));
    }

    static ReserveModeConfig parse(PolicyConfig config)
    {
        requireNonNull(config, "config is null");
        config.requireOnly(KEYS);
        return new ReserveModeConfig(
                config.choice(SOURCE, MemorySource.class, MemorySource.SYSTEM),
                config.contains(MIN_RESERVED_MEMORY) ? OptionalLong.of(config.size(MIN_RESERVED_MEMORY, 0)) : OptionalLong.empty(),
                config.size(SINGLE_QUERY_MAX_MEMORY, 0),
                config.duration(CHECK_INTERVAL, Duration.ofMillis(10), Duration.ofNanos(1), Duration.ofDays(1)),
                config.size(MIN_AVAILABLE_AT_START, 5 * GB),
                config.size(MIN_FREE_AFTER_RESERVE, 4 * GB),
                config.bool(FAIL_IF_UNAVAILABLE, false),
                config.bool(FULL_STATISTICS, false),
                config.duration(QUERY_IDLE_TIMEOUT, Duration.ofHours(5)),
                config.duration(RETIRE_GRACE_PERIOD, Duration.ofSeconds(1)));
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

    /** A duration the way the config writes it: {@code 5h}, {@code 90s}, {@code 10ms}. */
    static String format(Duration duration)
    {
        return PolicyConfig.format(duration);
    }
}
