package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.MetricsSink;

import java.lang.System.Logger.Level;
import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * ClickHouse's {@code MemoryWorker}: every {@code correction-interval} it reads what the process really uses and
 * publishes the drift of the node tracker's exact sum from it. With {@code correct-tracker=true} it also sets the node's
 * correction term, so that the node reads what the process uses (plus what is carried until the next tick); it never
 * writes into the tracked sum, which may be below zero for a while when a free is carried before its allocation.
 *
 * <p>Runs on the engine's scheduler with a fixed delay. A tick that throws anything, an {@link Error} included, is
 * logged and skipped, and the next tick runs as usual: a task that threw would never be scheduled again.
 */
final class MemoryCorrectionWorker
        implements Runnable
{
    static final String DRIFT_GAUGE = "tracked-minus-actual-bytes";
    static final String ACTUAL_GAUGE = "actual-bytes";
    static final String TRACKED_GAUGE = "tracked-bytes";
    static final String UNTRACKED_GAUGE = "untracked-bytes";
    static final String CORRECTIONS = "corrections";

    private static final System.Logger LOG = System.getLogger(MemoryCorrectionWorker.class.getName());

    private final ThreadBatchedMemoryTracker root;
    private final LongSupplier actualBytes;
    private final boolean correctTracker;
    private final MetricsSink metrics;
    private volatile long lastDriftBytes;
    private volatile boolean failureLogged;

    /**
     * @param actualBytes reads what the process uses, in bytes; injectable so tests can play an RSS
     */
    MemoryCorrectionWorker(ThreadBatchedMemoryTracker root, LongSupplier actualBytes, boolean correctTracker, MetricsSink metrics)
    {
        this.root = requireNonNull(root, "root is null");
        this.actualBytes = requireNonNull(actualBytes, "actualBytes is null");
        this.correctTracker = correctTracker;
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    /** Runs one tick; never throws, so that the scheduler keeps it scheduled. */
    @Override
    public void run()
    {
        try {
            tick();
        }
        catch (Throwable e) {
            // an Error too (NoClassDefFoundError from a source, StackOverflowError): one that escaped would cancel
            // every later tick without a word. Log the first at WARNING: a source that fails tends to fail every tick
            if (!failureLogged) {
                failureLogged = true;
                LOG.log(Level.WARNING, "Memory correction of node tracker '" + root.description() + "' failed; it runs again every interval", e);
            }
            else {
                LOG.log(Level.DEBUG, "Memory correction of node tracker '" + root.description() + "' failed again", e);
            }
        }
    }

    void tick()
    {
        long actual = actualBytes.getAsLong();
        long tracked = root.trackedBytes();
        long drift = tracked - actual;
        lastDriftBytes = drift;
        metrics.gauge(DRIFT_GAUGE, drift);
        metrics.gauge(ACTUAL_GAUGE, actual);
        metrics.gauge(TRACKED_GAUGE, tracked);
        metrics.gauge(UNTRACKED_GAUGE, root.untrackedBytes());
        if (correctTracker) {
            root.correctTo(actual);
            metrics.increment(CORRECTIONS, 1);
        }
    }

    /** The drift published by the last tick. */
    long lastDriftBytes()
    {
        return lastDriftBytes;
    }
}
