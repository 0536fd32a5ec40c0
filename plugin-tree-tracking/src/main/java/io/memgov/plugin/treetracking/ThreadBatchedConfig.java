package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.time.Duration;
import java.util.List;
import java.util.Map;

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

    private ThreadBatchedConfig(PolicyConfig values)
    {
        maxUntrackedBytes = values.size(MAX_UNTRACKED_MEMORY, 4L << 20);
        maxMemoryUsageBytes = values.size(MAX_MEMORY_USAGE, 0);
        maxMemoryUsageForUserBytes = values.size(MAX_MEMORY_USAGE_FOR_USER, 0);
        maxServerMemoryUsageBytes = values.size(MAX_SERVER_MEMORY_USAGE, 0);
        maxServerMemoryUsageToRamRatio = values.ratio(MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO, 0.9);
        faultProbability = values.ratio(FAULT_PROBABILITY, 0);
        String overcommit = values.string(OVERCOMMIT_KILLER, OVERCOMMIT_RATIO);
        if (!overcommit.equals(OVERCOMMIT_RATIO) && !overcommit.equals(OVERCOMMIT_NONE)) {
            throw PolicyConfig.invalid(values.fullKey(OVERCOMMIT_KILLER), overcommit, "one of [" + OVERCOMMIT_RATIO + ", " + OVERCOMMIT_NONE + "]");
        }
        overcommitEnabled = overcommit.equals(OVERCOMMIT_RATIO);
        overcommitRatioDenominatorBytes = values.size(OVERCOMMIT_RATIO_DENOMINATOR, 1L << 30);
        overcommitRatioDenominatorForUserBytes = values.size(OVERCOMMIT_RATIO_DENOMINATOR_FOR_USER, 1L << 30);
        overcommitMaxWaitNanos = values.duration(OVERCOMMIT_MAX_WAIT, Duration.ofSeconds(5)).toNanos();
        correctionIntervalNanos = values.duration(CORRECTION_INTERVAL, Duration.ofMillis(100)).toNanos();
        String source = values.string(CORRECTION_SOURCE, CorrectionSource.HEAP.configName());
        correctionSource = CorrectionSource.fromConfigName(source);
        if (correctionSource == null) {
            throw PolicyConfig.invalid(values.fullKey(CORRECTION_SOURCE), source, "one of " + CorrectionSource.configNames());
        }
        correctTracker = values.bool(CORRECT_TRACKER, false);
    }

    /**
     * Reads the policy's configuration; every key is optional.
     *
     * @throws IllegalArgumentException for an unknown key or a bad value, naming the key, the value and what is accepted
     */
    static ThreadBatchedConfig parse(PolicyConfig config)
    {
        requireNonNull(config, "config is null");
        config.requireOnly(keys());
        return new ThreadBatchedConfig(config);
    }

    static ThreadBatchedConfig defaults()
    {
        return parse(PolicyConfig.of(PREFIX, Map.of()));
    }

    static List<String> keys()
    {
        return CONFIG_KEYS.stream().map(PolicyConfigKey::name).toList();
    }

    /** Every key with its default and meaning, as {@link ThreadBatchedMemoryTrackerFactory#configKeys()} documents them. */
    static final List<PolicyConfigKey> CONFIG_KEYS = List.of(
            new PolicyConfigKey(MAX_UNTRACKED_MEMORY, "4MB", "what one thread may hold back per tracker before carrying it up the tree; 0 carries every change at once"),
            new PolicyConfigKey(MAX_MEMORY_USAGE, "0", "per-query limit on the node, 0 for none (ClickHouse's max_memory_usage)"),
            new PolicyConfigKey(MAX_MEMORY_USAGE_FOR_USER, "0", "limit for all of one user's queries on the node, 0 for none"),
            new PolicyConfigKey(MAX_SERVER_MEMORY_USAGE, "0", "node limit; 0 leaves it to the ratio below"),
            new PolicyConfigKey(MAX_SERVER_MEMORY_USAGE_TO_RAM_RATIO, "0.9",
                    "node limit as a share of the node's pool: the limit is min(max-server-memory-usage, ratio x pool); 0 leaves it to max-server-memory-usage"),
            new PolicyConfigKey(FAULT_PROBABILITY, "0", "probability that a reservation fails on purpose, to exercise failure paths in tests"),
            new PolicyConfigKey(OVERCOMMIT_KILLER, OVERCOMMIT_RATIO,
                    "what a request over a user or node limit does: overcommit-ratio fails the query with the largest used / soft-limit ratio and waits; none fails the requester"),
            new PolicyConfigKey(OVERCOMMIT_RATIO_DENOMINATOR, "1GB", "soft limit of a query under its user's tracker, the denominator of its overcommit ratio"),
            new PolicyConfigKey(OVERCOMMIT_RATIO_DENOMINATOR_FOR_USER, "1GB", "soft limit of a user under the node's tracker, the denominator of its overcommit ratio"),
            new PolicyConfigKey(OVERCOMMIT_MAX_WAIT, "5s", "how long a request over a limit waits for the overcommit killer's victim to free memory; 0 disables the overcommit killer"),
            new PolicyConfigKey(CORRECTION_INTERVAL, "100ms", "how often the correction worker compares tracked with actual memory and publishes the drift; 0 disables it"),
            new PolicyConfigKey(CORRECTION_SOURCE, "heap", "what actual memory is: heap (the JVM heap in use), rss (the process's resident set) or cgroup (the container's usage)"),
            new PolicyConfigKey(CORRECT_TRACKER, "false", "true moves the node's tracker to the actual figure at each correction, as ClickHouse does"));

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
