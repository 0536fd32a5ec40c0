package io.memgov.spi.policy;

import java.time.Clock;

/**
 * What the engine offers every policy it creates. Each family's context extends this one; new services are added
 * as default methods so that plugins compiled against an older SPI keep working.
 *
 * @since 1.0
 */
public interface PolicyContext
{
    /** The engine's clock; tests substitute a controllable one. Never null. */
    Clock clock();

    /** Where the policy schedules periodic or delayed work; never null. */
    PolicyScheduler scheduler();

    /** Where the policy publishes its metrics. Never null. */
    default MetricsSink metrics()
    {
        return MetricsSink.NONE;
    }
}
