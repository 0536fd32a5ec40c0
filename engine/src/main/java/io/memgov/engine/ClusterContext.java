package io.memgov.engine;

import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.policy.MetricsSink;

import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;

import static java.util.Objects.requireNonNull;

/**
 * What the engine hands cluster-level policies (killers, leak detectors).
 */
record ClusterContext(Clock clock, ScheduledExecutorService scheduler, MetricsSink metrics)
        implements LowMemoryKillerContext, MemoryLeakDetectorContext
{
    ClusterContext
    {
        requireNonNull(clock, "clock is null");
        requireNonNull(scheduler, "scheduler is null");
        requireNonNull(metrics, "metrics is null");
    }
}
