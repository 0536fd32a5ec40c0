package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Collectors;

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

    /** Every key with its default and meaning, as {@link ReserveModePoolFactory#configKeys()} documents them. */
    static final List<PolicyConfigKey> CONFIG_KEYS = List.of(
            new PolicyConfigKey(SOURCE, "system", "where available memory is read: system (the machine's or container's available memory) or heap (max heap minus heap in use)"),
            new PolicyConfigKey(MIN_RESERVED_MEMORY, "auto",
                    "available memory kept in reserve: a request that would leave less fails with QUERY_MEMORY_EXHAUSTED and retires its query; auto is max(1GB, 20% of total) for system, 20% of the max heap for heap"),
            new PolicyConfigKey(SINGLE_QUERY_MAX_MEMORY, "0", "per-query cap on the node (user plus revocable); a query over it fails with QUERY_MEMORY_UPPER_LIMIT; 0 for none"),
            new PolicyConfigKey(CHECK_INTERVAL, "10ms", "how often the checker reads available memory and retires queries, largest first, while it is below the reserve"),
            new PolicyConfigKey(MIN_AVAILABLE_AT_START, "5GB", "with source=system, reserve mode stands down (a plain pool, with a WARN) when less than this is available at start"),
            new PolicyConfigKey(MIN_FREE_AFTER_RESERVE, "4GB", "with source=system, reserve mode stands down when available memory minus the reserve is below this at start"),
            new PolicyConfigKey(FAIL_IF_UNAVAILABLE, "false", "true fails start-up instead of standing down"),
            new PolicyConfigKey(FULL_STATISTICS, "false", "true keeps each query's full allocation statistics (TDengine's memPoolFullFunc)"),
            new PolicyConfigKey(QUERY_IDLE_TIMEOUT, "5h", "retires a query that still holds memory this long after its last reservation change; 0 disables"),
            new PolicyConfigKey(RETIRE_GRACE_PERIOD, "1s",
                    "bytes retired this recently count as covering the shortfall, so queries are not retired again while memory is being released; 0 is TDengine's behaviour"));

    private static final Set<String> KEYS = CONFIG_KEYS.stream().map(PolicyConfigKey::name).collect(Collectors.toUnmodifiableSet());

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
