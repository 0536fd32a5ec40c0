package io.memgov.plugin.leakdetector;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

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
    /** Every key with its default and meaning, as {@link ClusterMemoryLeakDetectorFactory#configKeys()} documents them. */
    static final List<PolicyConfigKey> CONFIG_KEYS = List.of(
            new PolicyConfigKey(GRACE, PolicyConfig.format(DEFAULT_GRACE), "how long after its end a query may still hold memory before it is flagged as leaked"));
    static final Set<String> KEYS = CONFIG_KEYS.stream().map(PolicyConfigKey::name).collect(Collectors.toUnmodifiableSet());

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
    static LeakDetectorConfig from(PolicyConfig config)
    {
        config.requireOnly(KEYS);
        return new LeakDetectorConfig(config.duration(GRACE, DEFAULT_GRACE));
    }
}
