package io.memgov.spi.policy;

import java.time.Duration;

/**
 * The engine's scheduler, as far as a policy may use it: run a short task later, or again and again. A policy cannot
 * shut it down or see its other tasks; the engine stops every task when it closes.
 *
 * <p>Tasks run on the engine's scheduler threads, which are shared: a task must be short and must not block. A task
 * that throws (an {@link Error} included) is logged with the policy's name; a periodic task runs again at its next
 * time. Thread-safe.
 *
 * @since 1.0
 */
public interface PolicyScheduler
{
    /**
     * Runs {@code task} once, after {@code delay}.
     *
     * @param delay non-negative
     * @return a handle to cancel it; never null
     */
    Cancellable schedule(Runnable task, Duration delay);

    /**
     * Runs {@code task} after {@code initialDelay}, then again {@code delay} after each run ends, until cancelled or the
     * engine closes. A run that throws does not stop the next one.
     *
     * @param initialDelay non-negative
     * @param delay positive
     * @return a handle to cancel it; never null
     */
    Cancellable scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay);

    /** A scheduled task. */
    interface Cancellable
    {
        /** Stops later runs; a run in progress finishes. Idempotent. */
        void cancel();

        boolean isCancelled();
    }
}
