package io.memgov.engine;

import io.memgov.spi.policy.MetricsSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * The metrics policies publish, kept per policy under {@code <scope>.<name>} and shown in snapshots and JMX.
 */
public final class EngineMetrics
{
    private static final Logger log = LoggerFactory.getLogger(EngineMetrics.class);

    private final Map<String, Cell> values = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    // makes "publish a new metric and tell the listeners" atomic with "add a listener and replay what exists", so that
    // every listener hears of every metric exactly once; taken only the first time a name is published
    private final Object newMetrics = new Object();

    /**
     * What a metric is, decided by the first call that publishes it: a gauge holds the last value set
     * ({@link MetricsSink#gauge}), a counter the sum of the increments ({@link MetricsSink#increment}).
     */
    public enum Kind
    {
        GAUGE,
        COUNTER,
    }

    /**
     * Hears of each metric once, for exporters (a Micrometer binder, for instance) that register a meter per metric.
     */
    @FunctionalInterface
    public interface Listener
    {
        /**
         * Called once per metric: from {@link #addListener} for the metrics published so far, and on the publishing
         * thread (a policy's or the cluster loop's) the first time a later one is published. Must return quickly and
         * must not publish metrics itself.
         *
         * @param name {@code <scope>.<name>}, as in {@link #snapshot()}; never null
         * @param kind never null
         * @param value reads the metric's current value; thread-safe and cheap, valid for the engine's lifetime
         */
        void metricAdded(String name, Kind kind, LongSupplier value);
    }

    /** A sink whose names are prefixed with {@code scope.}. */
    public MetricsSink sink(String scope)
    {
        requireNonNull(scope, "scope is null");
        return new MetricsSink()
        {
            @Override
            public void gauge(String name, long value)
            {
                cell(scope + "." + requireNonNull(name, "name is null"), Kind.GAUGE).value.set(value);
            }

            @Override
            public void increment(String name, long delta)
            {
                cell(scope + "." + requireNonNull(name, "name is null"), Kind.COUNTER).value.addAndGet(delta);
            }
        };
    }

    private Cell cell(String name, Kind kind)
    {
        Cell cell = values.get(name);
        if (cell != null) {
            return cell;
        }
        synchronized (newMetrics) {
            cell = values.get(name);
            if (cell == null) {
                cell = new Cell(kind, new AtomicLong());
                values.put(name, cell);
                for (Listener listener : listeners) {
                    tell(listener, name, cell);
                }
            }
            return cell;
        }
    }

    /** Every metric, sorted by name. */
    public Map<String, Long> snapshot()
    {
        Map<String, Long> result = new TreeMap<>();
        values.forEach((name, cell) -> result.put(name, cell.value.get()));
        return result;
    }

    /**
     * Tells the listener about every metric published so far, at once on this thread, and then about each new one
     * when it is first published; each metric exactly once. Listeners cannot be removed: they live as long as the
     * engine. A listener that throws is logged and goes on hearing of later metrics.
     */
    public void addListener(Listener listener)
    {
        requireNonNull(listener, "listener is null");
        synchronized (newMetrics) {
            new TreeMap<>(values).forEach((name, cell) -> tell(listener, name, cell));
            listeners.add(listener);
        }
    }

    private static void tell(Listener listener, String name, Cell cell)
    {
        try {
            listener.metricAdded(name, cell.kind, cell.value::get);
        }
        catch (RuntimeException e) {
            // the caller is a policy publishing a figure: an exporter's failure must not fail the policy
            log.warn("Metrics listener {} failed on new metric '{}'; the metric is published all the same", listener, name, e);
        }
    }

    private record Cell(Kind kind, AtomicLong value) {}
}
