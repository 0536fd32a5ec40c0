package io.memgov.testing;

import io.memgov.spi.policy.PolicyScheduler;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * A {@link PolicyScheduler} on one real daemon thread, for tests that need a policy's periodic work to run on its own
 * (end-to-end and concurrency tests). Like the engine's scheduler, a task that throws is recorded (see
 * {@link #failures()}) and a periodic task runs again. Close it after the test.
 *
 * @since 1.0
 */
public final class RealTimeScheduler
        implements PolicyScheduler, AutoCloseable
{
    private final ScheduledThreadPoolExecutor executor;
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();

    public RealTimeScheduler()
    {
        executor = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "memgov-testing-scheduler");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    @Override
    public Cancellable schedule(Runnable task, Duration delay)
    {
        requireNonNull(task, "task is null");
        return cancellable(executor.schedule(guarded(task), delay.toNanos(), TimeUnit.NANOSECONDS));
    }

    @Override
    public Cancellable scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay)
    {
        requireNonNull(task, "task is null");
        return cancellable(executor.scheduleWithFixedDelay(guarded(task), initialDelay.toNanos(), delay.toNanos(), TimeUnit.NANOSECONDS));
    }

    /** What tasks threw, in order. */
    public List<Throwable> failures()
    {
        return List.copyOf(failures);
    }

    private Runnable guarded(Runnable task)
    {
        return () -> {
            try {
                task.run();
            }
            catch (Throwable e) {
                failures.add(e);
            }
        };
    }

    private static Cancellable cancellable(ScheduledFuture<?> future)
    {
        return new Cancellable()
        {
            @Override
            public void cancel()
            {
                future.cancel(false);
            }

            @Override
            public boolean isCancelled()
            {
                return future.isCancelled();
            }
        };
    }

    @Override
    public void close()
    {
        executor.shutdownNow();
    }
}
