package io.memgov.engine;

import io.memgov.spi.policy.MetricsSink;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * The metrics policies publish, kept per policy under {@code <scope>.<name>} and shown in snapshots and JMX.
 */
public final class EngineMetrics
{
    private final Map<String, AtomicLong> values = new ConcurrentHashMap<>();

    /** A sink whose names are prefixed with {@code scope.}. */
    public MetricsSink sink(String scope)
    {
        requireNonNull(scope, "scope is null");
        return new MetricsSink()
        {
            @Override
            public void gauge(String name, long value)
            {
                cell(scope + "." + requireNonNull(name, "name is null")).set(value);
            }

            @Override
            public void increment(String name, long delta)
            {
                cell(scope + "." + requireNonNull(name, "name is null")).addAndGet(delta);
            }
        };
    }

    private AtomicLong cell(String name)
    {
        return values.computeIfAbsent(name, ignored -> new AtomicLong());
    }

    /** Every metric, sorted by name. */
    public Map<String, Long> snapshot()
    {
        Map<String, Long> result = new TreeMap<>();
        values.forEach((name, value) -> result.put(name, value.get()));
        return result;
    }
}
