package io.memgov.testing;

import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;

import java.time.Clock;

import static java.util.Objects.requireNonNull;

/**
 * What the engine hands a cluster-level policy (killer, leak detector, pool assigner), for tests: a
 * {@link TestingClock}, a {@link TestingScheduler} on it and a {@link TestingMetrics}.
 *
 * @since 1.0
 */
public final class TestingClusterContext
        implements LowMemoryKillerContext, MemoryLeakDetectorContext, MemoryPoolAssignerContext
{
    private final TestingScheduler scheduler;
    private final TestingMetrics metrics = new TestingMetrics();

    public TestingClusterContext()
    {
        this(new TestingScheduler(new TestingClock()));
    }

    public TestingClusterContext(TestingScheduler scheduler)
    {
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
    }

    @Override
    public Clock clock()
    {
        return scheduler.clock();
    }

    /** The clock, to advance. */
    public TestingClock testingClock()
    {
        return scheduler.clock();
    }

    @Override
    public PolicyScheduler scheduler()
    {
        return scheduler;
    }

    /** The scheduler, to run due tasks. */
    public TestingScheduler testingScheduler()
    {
        return scheduler;
    }

    @Override
    public MetricsSink metrics()
    {
        return metrics;
    }

    /** What the policy published. */
    public TestingMetrics testingMetrics()
    {
        return metrics;
    }
}
