package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.tracker.MemoryTrackerContext;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * What every tracker of one node's tree shares: the configuration, the engine's services, node-wide counters and
 * the correction worker.
 */
final class TrackerTree
{
    static final String ALLOCATED_WITHOUT_CHECK = "allocated-without-check";
    static final String ALLOCATED_WITHOUT_CHECK_BYTES = "allocated-without-check-bytes";
    static final String MEMORY_LIMIT_EXCEEDED = "memory-limit-exceeded";
    static final String OVERCOMMIT_KILLS = "overcommit-kills";

    private final ThreadBatchedConfig config;
    private final MemoryTrackerContext context;
    private final AtomicLong allocatedWithoutCheck = new AtomicLong();
    private final AtomicLong allocatedWithoutCheckBytes = new AtomicLong();
    private final AtomicLong overcommitKills = new AtomicLong();
    private volatile MemoryCorrectionWorker correctionWorker;
    private volatile PolicyScheduler.Cancellable correctionTask;

    TrackerTree(ThreadBatchedConfig config, MemoryTrackerContext context)
    {
        this.config = requireNonNull(config, "config is null");
        this.context = requireNonNull(context, "context is null");
    }

    ThreadBatchedConfig config()
    {
        return config;
    }

    MemoryTrackerContext context()
    {
        return context;
    }

    MetricsSink metrics()
    {
        return context.metrics();
    }

    boolean injectFault()
    {
        double probability = config.faultProbability();
        return probability > 0 && (probability >= 1 || ThreadLocalRandom.current().nextDouble() < probability);
    }

    void recordAllocatedWithoutCheck(long bytes)
    {
        allocatedWithoutCheck.incrementAndGet();
        allocatedWithoutCheckBytes.addAndGet(bytes);
        metrics().increment(ALLOCATED_WITHOUT_CHECK, 1);
        metrics().increment(ALLOCATED_WITHOUT_CHECK_BYTES, bytes);
    }

    void recordOvercommitKill()
    {
        overcommitKills.incrementAndGet();
        metrics().increment(OVERCOMMIT_KILLS, 1);
    }

    /** Allocations let past a limit inside a {@link NoThrowScope}. */
    long allocatedWithoutCheck()
    {
        return allocatedWithoutCheck.get();
    }

    long allocatedWithoutCheckBytes()
    {
        return allocatedWithoutCheckBytes.get();
    }

    long overcommitKills()
    {
        return overcommitKills.get();
    }

    void startCorrection(MemoryCorrectionWorker worker, PolicyScheduler.Cancellable task)
    {
        this.correctionWorker = worker;
        this.correctionTask = task;
    }

    /** The correction worker, or null when correction is disabled. */
    MemoryCorrectionWorker correctionWorker()
    {
        return correctionWorker;
    }

    PolicyScheduler.Cancellable correctionTask()
    {
        return correctionTask;
    }

    void stopCorrection()
    {
        PolicyScheduler.Cancellable task = correctionTask;
        if (task != null) {
            task.cancel();
        }
    }
}
