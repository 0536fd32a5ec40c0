package io.memgov.spi.policy;

import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What the engine offers every policy it creates. Each family's context extends this one; new services are added
 * as default methods so that plugins compiled against an older SPI keep working.
 *
 * @since 0.1
 */
public interface PolicyContext
{
    /** The engine's clock; tests substitute a controllable one. Never null. */
    Clock clock();

    /**
     * A scheduler shared by the engine's policies for periodic work (a few threads, daemon). Tasks must be short and
     * must not block; the engine shuts it down when it closes. Never null.
     */
    ScheduledExecutorService scheduler();

    /** Where the policy publishes its metrics. Never null. */
    default MetricsSink metrics()
    {
        return MetricsSink.NONE;
    }
}
