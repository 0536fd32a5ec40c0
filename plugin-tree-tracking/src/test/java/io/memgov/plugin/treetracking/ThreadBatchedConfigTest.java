package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.memgov.plugin.treetracking.TrackerFixture.GIB;
import static io.memgov.plugin.treetracking.TrackerFixture.KIB;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class ThreadBatchedConfigTest
{
    @Test
    void defaultsFollowClickHouse()
    {
        ThreadBatchedConfig config = ThreadBatchedConfig.defaults();
        assertThat(config.maxUntrackedBytes()).isEqualTo(4 * MIB);
        assertThat(config.maxMemoryUsageBytes()).isZero();
        assertThat(config.maxMemoryUsageForUserBytes()).isZero();
        assertThat(config.maxServerMemoryUsageBytes()).isZero();
        assertThat(config.maxServerMemoryUsageToRamRatio()).isEqualTo(0.9);
        assertThat(config.faultProbability()).isZero();
        assertThat(config.overcommitEnabled()).isTrue();
        assertThat(config.overcommitRatioDenominatorBytes()).isEqualTo(GIB);
        assertThat(config.overcommitRatioDenominatorForUserBytes()).isEqualTo(GIB);
        assertThat(config.overcommitMaxWaitNanos()).isEqualTo(TimeUnit.SECONDS.toNanos(5));
        assertThat(config.correctionIntervalNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(config.correctionSource()).isEqualTo(CorrectionSource.HEAP);
        assertThat(config.correctTracker()).isFalse();
        assertThat(config.nodeLimitBytes(10 * GIB)).isEqualTo(9 * GIB);
    }

    @Test
    void mapsEveryKey()
    {
        ThreadBatchedConfig config = ThreadBatchedConfig.parse(config(Map.ofEntries(
                entry("max-untracked-memory", "512kB"),
                entry("max-memory-usage", "10GB"),
                entry("max-memory-usage-for-user", "20GB"),
                entry("max-server-memory-usage", "30GB"),
                entry("max-server-memory-usage-to-ram-ratio", "0.5"),
                entry("memory-tracker-fault-probability", "0.01"),
                entry("overcommit-killer", "none"),
                entry("memory-overcommit-ratio-denominator", "2GB"),
                entry("memory-overcommit-ratio-denominator-for-user", "3GB"),
                entry("memory-usage-overcommit-max-wait", "250ms"),
                entry("correction-interval", "1s"),
                entry("correction-source", "rss"),
                entry("correct-tracker", "true"))));
        assertThat(config.maxUntrackedBytes()).isEqualTo(512 * KIB);
        assertThat(config.maxMemoryUsageBytes()).isEqualTo(10 * GIB);
        assertThat(config.maxMemoryUsageForUserBytes()).isEqualTo(20 * GIB);
        assertThat(config.maxServerMemoryUsageBytes()).isEqualTo(30 * GIB);
        assertThat(config.maxServerMemoryUsageToRamRatio()).isEqualTo(0.5);
        assertThat(config.faultProbability()).isEqualTo(0.01);
        assertThat(config.overcommitEnabled()).isFalse();
        assertThat(config.overcommitRatioDenominatorBytes()).isEqualTo(2 * GIB);
        assertThat(config.overcommitRatioDenominatorForUserBytes()).isEqualTo(3 * GIB);
        assertThat(config.overcommitMaxWaitNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(250));
        assertThat(config.correctionIntervalNanos()).isEqualTo(TimeUnit.SECONDS.toNanos(1));
        assertThat(config.correctionSource()).isEqualTo(CorrectionSource.RSS);
        assertThat(config.correctTracker()).isTrue();
        // min(30GB, 0.5 x 100GB)
        assertThat(config.nodeLimitBytes(100 * GIB)).isEqualTo(30 * GIB);
        assertThat(config.nodeLimitBytes(40 * GIB)).isEqualTo(20 * GIB);
    }

    @Test
    void rejectsUnknownKeyNamingItAndTheAcceptedKeys()
    {
        assertThatThrownBy(() -> ThreadBatchedConfig.parse(config(Map.of("max-untracked-memroy", "4MB"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'memory.tracker.thread-batched.max-untracked-memroy'")
                .hasMessageContaining("Did you mean 'memory.tracker.thread-batched.max-untracked-memory'?")
                .hasMessageContaining("Accepted under 'memory.tracker.thread-batched.': [correct-tracker, correction-interval, ");
    }

    @Test
    void rejectsBadSizes()
    {
        assertBadValue("max-untracked-memory", "4XB", "a size such as 512MB, 4GB or a number of bytes");
        assertBadValue("max-memory-usage", "-1", "a size");
        assertBadValue("max-server-memory-usage", "lots", "a size");
        assertBadValue("memory-overcommit-ratio-denominator", "99999999999TB", "a size");
        assertBadValue("max-memory-usage-for-user", "", "a size");
    }

    @Test
    void rejectsBadDurations()
    {
        assertBadValue("memory-usage-overcommit-max-wait", "5", "a duration such as 500ms, 1s or 5m");
        assertBadValue("correction-interval", "100 millis", "a duration");
        assertBadValue("correction-interval", "-1s", "a duration");
    }

    @Test
    void rejectsRatiosOutsideZeroToOne()
    {
        assertBadValue("max-server-memory-usage-to-ram-ratio", "1.5", "a ratio between 0 and 1");
        assertBadValue("memory-tracker-fault-probability", "-0.1", "a ratio between 0 and 1");
        assertBadValue("memory-tracker-fault-probability", "NaN", "a ratio between 0 and 1");
    }

    @Test
    void rejectsUnknownChoices()
    {
        assertBadValue("correction-source", "jemalloc", "one of [heap, rss, cgroup]");
        assertBadValue("overcommit-killer", "total-reservation", "one of [overcommit-ratio, none]");
        assertBadValue("correct-tracker", "yes", "true or false");
    }

    @Test
    void factoryRejectsBadConfigBeforeBuildingAnything()
    {
        try (TestingNodeContext context = TrackerFixture.context(GIB)) {
            assertThatThrownBy(() -> new ThreadBatchedMemoryTrackerFactory().create(config(Map.of("max-memory-usage", "ten")), context))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("max-memory-usage");
        }
    }

    private static void assertBadValue(String key, String value, String accepted)
    {
        assertThatThrownBy(() -> ThreadBatchedConfig.parse(config(Map.of(key, value))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + value.trim() + "'")
                .hasMessageContaining("'memory.tracker.thread-batched." + key + "'")
                .hasMessageContaining(accepted);
    }

    private static PolicyConfig config(Map<String, String> values)
    {
        return PolicyConfig.of(ThreadBatchedConfig.PREFIX, values);
    }
}
