package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerContext;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import io.memgov.spi.tracker.TrackerLevel;

import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * Tracker policy {@code thread-batched}: ClickHouse's tracker tree with thread-local batching, limits at every level,
 * the overcommit killer {@code overcommit-ratio} and the correction worker.
 */
final class ThreadBatchedMemoryTrackerFactory
        implements MemoryTrackerFactory
{
    static final String NAME = "thread-batched";

    // null: read the configured correction-source
    private final LongSupplier correctionSource;

    ThreadBatchedMemoryTrackerFactory()
    {
        this.correctionSource = null;
    }

    /** For tests: replaces whatever {@code correction-source} names. */
    ThreadBatchedMemoryTrackerFactory(LongSupplier correctionSource)
    {
        this.correctionSource = requireNonNull(correctionSource, "correctionSource is null");
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public List<PolicyConfigKey> configKeys()
    {
        return ThreadBatchedConfig.CONFIG_KEYS;
    }

    @Override
    public MemoryTracker create(PolicyConfig config, MemoryTrackerContext context)
    {
        return createRoot(config, context);
    }

    ThreadBatchedMemoryTracker createRoot(PolicyConfig config, MemoryTrackerContext context)
    {
        requireNonNull(context, "context is null");
        ThreadBatchedConfig parsed = ThreadBatchedConfig.parse(config);
        LongSupplier source = null;
        if (parsed.correctionIntervalNanos() > 0) {
            // read the source before building anything, so an unavailable source fails start-up
            source = correctionSource != null ? correctionSource : parsed.correctionSource().reader();
        }
        TrackerTree tree = new TrackerTree(parsed, context);
        ThreadBatchedMemoryTracker root = new ThreadBatchedMemoryTracker(
                tree, TrackerLevel.NODE, context.nodeId().id(), null, parsed.nodeLimitBytes(context.poolBytes()));
        if (source != null) {
            MemoryCorrectionWorker worker = new MemoryCorrectionWorker(root, source, parsed.correctTracker(), context.metrics());
            Duration interval = Duration.ofNanos(parsed.correctionIntervalNanos());
            PolicyScheduler.Cancellable task = context.scheduler().scheduleWithFixedDelay(worker, interval, interval);
            tree.startCorrection(worker, task);
        }
        return root;
    }
}
