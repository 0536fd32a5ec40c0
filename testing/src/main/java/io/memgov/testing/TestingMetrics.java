package io.memgov.testing;

import io.memgov.spi.policy.MetricsSink;

import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * A {@link MetricsSink} that remembers what a policy published, for assertions. Thread-safe.
 *
 * @since 1.0
 */
public final class TestingMetrics
        implements MetricsSink
{
    private final Map<String, Long> gauges = new ConcurrentHashMap<>();
    private final Map<String, Long> counters = new ConcurrentHashMap<>();

    @Override
    public void gauge(String name, long value)
    {
        gauges.put(requireNonNull(name, "name is null"), value);
    }

    @Override
    public void increment(String name, long delta)
    {
        counters.merge(requireNonNull(name, "name is null"), delta, Long::sum);
    }

    /** The gauge's last value, if it was ever set. */
    public OptionalLong gauge(String name)
    {
        Long value = gauges.get(name);
        return value == null ? OptionalLong.empty() : OptionalLong.of(value);
    }

    /** The counter's sum; 0 if never incremented. */
    public long counter(String name)
    {
        return counters.getOrDefault(name, 0L);
    }

    /** Every gauge and counter, sorted by name. */
    public Map<String, Long> snapshot()
    {
        Map<String, Long> all = new TreeMap<>(gauges);
        all.putAll(counters);
        return all;
    }
}
