package io.memgov.spi.policy;

/**
 * Where a policy publishes its own numbers (drift, retired queries, kills). The engine exposes them through JMX
 * and the JSON snapshot. Implementations are thread-safe and cheap; policies may call them from any thread.
 *
 * @since 1.0
 */
public interface MetricsSink
{
    /** A sink that drops everything. */
    MetricsSink NONE = new MetricsSink()
    {
        @Override
        public void gauge(String name, long value) {}

        @Override
        public void increment(String name, long delta) {}
    };

    /**
     * Sets the current value of a gauge.
     *
     * @param name kebab-case, unique within the policy, e.g. {@code tracked-minus-actual-bytes}; never null
     */
    void gauge(String name, long value);

    /** Adds {@code delta} to a counter that starts at zero. */
    void increment(String name, long delta);
}
