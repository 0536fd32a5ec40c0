package io.memgov.engine;

import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;

import java.time.Clock;

import static java.util.Objects.requireNonNull;

/**
 * What the engine hands cluster-level policies (killers, leak detectors, pool assigners).
 */
record ClusterContext(Clock clock, PolicyScheduler scheduler, MetricsSink metrics)
        implements LowMemoryKillerContext, MemoryLeakDetectorContext, MemoryPoolAssignerContext
{
    ClusterContext
    {
        requireNonNull(clock, "clock is null");
        requireNonNull(scheduler, "scheduler is null");
        requireNonNull(metrics, "metrics is null");
    }
}
