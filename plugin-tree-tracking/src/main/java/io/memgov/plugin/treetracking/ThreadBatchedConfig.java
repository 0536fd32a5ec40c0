package io.memgov.plugin.treetracking;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The keys under {@code memory.tracker.thread-batched.}, named after ClickHouse's settings (dashes for underscores).
 * Sizes are 1024-based whatever the suffix ({@code 4MB} = 4 MiB, as ClickHouse and Trino read them).
 */
final class ThreadBatchedConfig
{
    static final String PREFIX = "memory.tracker." + ThreadBatchedMemoryTrackerFactory.NAME + ".";

    static final String MAX_UNTRACKED_MEMORY = "max-untracked-memory";
    static final String MAX_MEMORY_USAGE = "max-memory-usage";
    static final String MAX_MEMORY_USAGE_FOR_USER = "max-memory-usage-for-user";
    static final String MAX_SERVER_MEMORY_USAGE = "max-server-memory-usage";
    static final String MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO = "max-server-memory-usage-to-ram-ratio";
    static final String FAULT_PROBABILITY = "memory-tracker-fault-probability";
    static final String OVERCOMMIT_KILLER = "overcommit-killer";
    static final String OVERCOMMIT_RATIO_DENOMINATOR = "memory-overcommit-ratio-denominator";
    static final String OVERCOMMIT_RATIO_DENOMINATOR_FOR_USER = "memory-overcommit-ratio-denominator-for-user";
    static final String OVERCOMMIT_MAX_WAIT = "memory-usage-overcommit-max-wait";
    static final String CORRECTION_INTERVAL = "correction-interval";
    static final String CORRECTION_SOURCE = "correction-source";
    static final String CORRECT_TRACKER = "correct-tracker";

    static final String OVERCOMMIT_RATIO = "overcommit-ratio";
    static final String OVERCOMMIT_NONE = "none";

    private static final String SIZE_FORMAT = "a size such as 4MB, 512kB, 1GB or a number of bytes (units B, kB, MB, GB, TB, all 1024-based)";
    private static final String DURATION_FORMAT = "a duration such as 100ms, 5s or 0 (units ns, us, ms, s, m, h, d)";
    private static final String RATIO_FORMAT = "a number from 0 to 1, such as 0.9";

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([A-Za-z]*)");
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|ms|s|m|h|d)");
    private static final Map<String, Long> SIZE_UNITS = Map.ofEntries(
            Map.entry("", 1L),
            Map.entry("b", 1L),
            Map.entry("k", 1L << 10), Map.entry("kb", 1L << 10), Map.entry("kib", 1L << 10),
            Map.entry("m", 1L << 20), Map.entry("mb", 1L << 20), Map.entry("mib", 1L << 20),
            Map.entry("g", 1L << 30), Map.entry("gb", 1L << 30), Map.entry("gib", 1L << 30),
            Map.entry("t", 1L << 40), Map.entry("tb", 1L << 40), Map.entry("tib", 1L << 40));
    private static final Map<String, TimeUnit> DURATION_UNITS = Map.of(
            "ns", TimeUnit.NANOSECONDS,
            "us", TimeUnit.MICROSECONDS,
            "ms", TimeUnit.MILLISECONDS,
            "s", TimeUnit.SECONDS,
            "m", TimeUnit.MINUTES,
            "h", TimeUnit.HOURS,
            "d", TimeUnit.DAYS);

    // key -> default, in the order the documentation lists them
    private static final Map<String, String> DEFAULTS;

    static {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put(MAX_UNTRACKED_MEMORY, "4MB");
        defaults.put(MAX_MEMORY_USAGE, "0");
        defaults.put(MAX_MEMORY_USAGE_FOR_USER, "0");
        defaults.put(MAX_SERVER_MEMORY_USAGE, "0");
        defaults.put(MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO, "0.9");
        defaults.put(FAULT_PROBABILITY, "0");
        defaults.put(OVERCOMMIT_KILLER, OVERCOMMIT_RATIO);
        defaults.put(OVERCOMMIT_RATIO_DENOMINATOR, "1GB");
        defaults.put(OVERCOMMIT_RATIO_DENOMINATOR_FOR_USER, "1GB");
        defaults.put(OVERCOMMIT_MAX_WAIT, "5s");
        defaults.put(CORRECTION_INTERVAL, "100ms");
        defaults.put(CORRECTION_SOURCE, CorrectionSource.HEAP.configName());
        defaults.put(CORRECT_TRACKER, "false");
        DEFAULTS = Map.copyOf(defaults);
    }

    private final long maxUntrackedBytes;
    private final long maxMemoryUsageBytes;
    private final long maxMemoryUsageForUserBytes;
    private final long maxServerMemoryUsageBytes;
    private final double maxServerMemoryUsageToRamRatio;
    private final double faultProbability;
    private final boolean overcommitEnabled;
    private final long overcommitRatioDenominatorBytes;
    private final long overcommitRatioDenominatorForUserBytes;
    private final long overcommitMaxWaitNanos;
    private final long correctionIntervalNanos;
    private final CorrectionSource correctionSource;
    private final boolean correctTracker;

    private ThreadBatchedConfig(Map<String, String> values)
    {
        maxUntrackedBytes = parse(values, MAX_UNTRACKED_MEMORY, ThreadBatchedConfig::parseSize, SIZE_FORMAT);
        maxMemoryUsageBytes = parse(values, MAX_MEMORY_USAGE, ThreadBatchedConfig::parseSize, SIZE_FORMAT + "; 0 means no limit");
        maxMemoryUsageForUserBytes = parse(values, MAX_MEMORY_USAGE_FOR_USER, ThreadBatchedConfig::parseSize, SIZE_FORMAT + "; 0 means no limit");
        maxServerMemoryUsageBytes = parse(values, MAX_SERVER_MEMORY_USAGE, ThreadBatchedConfig::parseSize, SIZE_FORMAT + "; 0 means automatic");
        maxServerMemoryUsageToRamRatio = parse(values, MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO, ThreadBatchedConfig::parseRatio, RATIO_FORMAT);
        faultProbability = parse(values, FAULT_PROBABILITY, ThreadBatchedConfig::parseRatio, RATIO_FORMAT);
        overcommitEnabled = parse(values, OVERCOMMIT_KILLER, value -> choice(value, Map.of(OVERCOMMIT_RATIO, true, OVERCOMMIT_NONE, false)),
                "one of [" + OVERCOMMIT_RATIO + ", " + OVERCOMMIT_NONE + "]");
        overcommitRatioDenominatorBytes = parse(values, OVERCOMMIT_RATIO_DENOMINATOR, ThreadBatchedConfig::parseSize, SIZE_FORMAT);
        overcommitRatioDenominatorForUserBytes = parse(values, OVERCOMMIT_RATIO_DENOMINATOR_FOR_USER, ThreadBatchedConfig::parseSize, SIZE_FORMAT);
        overcommitMaxWaitNanos = parse(values, OVERCOMMIT_MAX_WAIT, ThreadBatchedConfig::parseDuration, DURATION_FORMAT);
        correctionIntervalNanos = parse(values, CORRECTION_INTERVAL, ThreadBatchedConfig::parseDuration, DURATION_FORMAT + "; 0 disables correction");
        correctionSource = parse(values, CORRECTION_SOURCE, CorrectionSource::fromConfigName, "one of " + CorrectionSource.configNames());
        correctTracker = parse(values, CORRECT_TRACKER, value -> choice(value, Map.of("true", true, "false", false)), "true or false");
    }

    /**
     * Reads the policy's configuration; every key is optional.
     *
     * @throws IllegalArgumentException for an unknown key or a bad value, naming the key, the value and what is accepted
     */
    static ThreadBatchedConfig parse(Map<String, String> config)
    {
        requireNonNull(config, "config is null");
        Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
        for (Map.Entry<String, String> entry : config.entrySet()) {
            String key = entry.getKey();
            if (key == null || !DEFAULTS.containsKey(key)) {
                throw new IllegalArgumentException(String.format(
                        "Unknown configuration key '%s%s' for memory tracker '%s'. Accepted keys: %s",
                        PREFIX, key, ThreadBatchedMemoryTrackerFactory.NAME, keys()));
            }
            if (entry.getValue() == null) {
                throw new IllegalArgumentException("Configuration key '" + PREFIX + key + "' has no value");
            }
            values.put(key, entry.getValue().trim());
        }
        return new ThreadBatchedConfig(values);
    }

    static ThreadBatchedConfig defaults()
    {
        return parse(Map.of());
    }

    static List<String> keys()
    {
        return List.of(MAX_UNTRACKED_MEMORY, MAX_MEMORY_USAGE, MAX_MEMORY_USAGE_FOR_USER, MAX_SERVER_MEMORY_USAGE,
                MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO, FAULT_PROBABILITY, OVERCOMMIT_KILLER, OVERCOMMIT_RATIO_DENOMINATOR,
                OVERCOMMIT_RATIO_DENOMINATOR_FOR_USER, OVERCOMMIT_MAX_WAIT, CORRECTION_INTERVAL, CORRECTION_SOURCE, CORRECT_TRACKER);
    }

    private static <T> T parse(Map<String, String> values, String key, Function<String, T> parser, String accepted)
    {
        String value = values.get(key);
        T parsed;
        try {
            parsed = parser.apply(value);
        }
        catch (IllegalArgumentException | ArithmeticException e) {
            parsed = null;
        }
        if (parsed == null) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for configuration key '%s%s': expected %s", value, PREFIX, key, accepted));
        }
        return parsed;
    }

    private static <T> T choice(String value, Map<String, T> choices)
    {
        return choices.get(value);
    }

    /** Returns null when the text is not a size. */
    static Long parseSize(String text)
    {
        Matcher matcher = SIZE.matcher(text);
        if (!matcher.matches()) {
            return null;
        }
        Long unit = SIZE_UNITS.get(matcher.group(2).toLowerCase(Locale.ROOT));
        if (unit == null) {
            return null;
        }
        // longValueExact throws ArithmeticException on overflow, reported as a bad value
        return new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(unit))
                .setScale(0, RoundingMode.DOWN)
                .longValueExact();
    }

    /** Returns null when the text is not a duration; the result is in nanoseconds. */
    static Long parseDuration(String text)
    {
        if (text.equals("0")) {
            return 0L;
        }
        Matcher matcher = DURATION.matcher(text);
        if (!matcher.matches()) {
            return null;
        }
        long nanosPerUnit = DURATION_UNITS.get(matcher.group(2)).toNanos(1);
        return new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(nanosPerUnit))
                .setScale(0, RoundingMode.DOWN)
                .longValueExact();
    }

    /** Returns null when the text is not a number in [0, 1]. */
    static Double parseRatio(String text)
    {
        if (!text.matches("\\d+(\\.\\d+)?")) {
            return null;
        }
        double value = Double.parseDouble(text);
        return value <= 1 ? value : null;
    }

    /** {@code max-untracked-memory}: what one thread may hold back per tracker; 0 carries every call at once. */
    long maxUntrackedBytes()
    {
        return maxUntrackedBytes;
    }

    /** {@code max-memory-usage}: per query, 0 for none. */
    long maxMemoryUsageBytes()
    {
        return maxMemoryUsageBytes;
    }

    /** {@code max-memory-usage-for-user}: per user, 0 for none. */
    long maxMemoryUsageForUserBytes()
    {
        return maxMemoryUsageForUserBytes;
    }

    /** {@code max-server-memory-usage}: per node, 0 for automatic. */
    long maxServerMemoryUsageBytes()
    {
        return maxServerMemoryUsageBytes;
    }

    double maxServerMemoryUsageToRamRatio()
    {
        return maxServerMemoryUsageToRamRatio;
    }

    /**
     * The node limit: ClickHouse's {@code min(max_server_memory_usage, ratio × RAM)}, where the JVM's "RAM" is the
     * node's pool. 0 configured means the ratio alone; a ratio of 0 means the configured value alone (or no limit).
     */
    long nodeLimitBytes(long poolBytes)
    {
        long automatic = (long) (maxServerMemoryUsageToRamRatio * poolBytes);
        if (automatic == 0) {
            return maxServerMemoryUsageBytes;
        }
        return maxServerMemoryUsageBytes == 0 ? automatic : Math.min(maxServerMemoryUsageBytes, automatic);
    }

    double faultProbability()
    {
        return faultProbability;
    }

    /** Whether {@code overcommit-killer=overcommit-ratio} (the default) and the wait is not 0. */
    boolean overcommitEnabled()
    {
        return overcommitEnabled && overcommitMaxWaitNanos > 0;
    }

    long overcommitRatioDenominatorBytes()
    {
        return overcommitRatioDenominatorBytes;
    }

    long overcommitRatioDenominatorForUserBytes()
    {
        return overcommitRatioDenominatorForUserBytes;
    }

    long overcommitMaxWaitNanos()
    {
        return overcommitMaxWaitNanos;
    }

    /** 0 when correction is disabled. */
    long correctionIntervalNanos()
    {
        return correctionIntervalNanos;
    }

    CorrectionSource correctionSource()
    {
        return correctionSource;
    }

    boolean correctTracker()
    {
        return correctTracker;
    }

    static long minNonZero(long first, long second)
    {
        if (first == 0) {
            return second;
        }
        return second == 0 ? first : Math.min(first, second);
    }
}
