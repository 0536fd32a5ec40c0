package io.memgov.engine;

import io.memgov.spi.policy.PolicyScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.Objects.requireNonNull;

/**
 * The engine's scheduler threads, and the narrow {@link PolicyScheduler} each policy gets of them. Every task runs
 * guarded: whatever it throws, an {@link Error} included, is logged with its owner's name and a periodic task runs
 * again at its next time. {@link ScheduledExecutorService#scheduleWithFixedDelay} alone would stop a periodic task
 * for good, silently, at its first exception.
 */
final class EngineScheduler
        implements AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(EngineScheduler.class);

    private final ScheduledThreadPoolExecutor executor;

    EngineScheduler()
    {
        AtomicInteger threads = new AtomicInteger();
        executor = new ScheduledThreadPoolExecutor(2, runnable -> {
            Thread thread = new Thread(runnable, "memgov-scheduler-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    /** The executor, for the engine's own loops. */
    ScheduledExecutorService executor()
    {
        return executor;
    }

    /** A scheduler for one policy (or engine component), which logs what its tasks throw under {@code owner}. */
    PolicyScheduler forOwner(String owner)
    {
        requireNonNull(owner, "owner is null");
        return new PolicyScheduler()
        {
            @Override
            public Cancellable schedule(Runnable task, Duration delay)
            {
                requireNonNull(task, "task is null");
                checkNotNegative(delay, "delay");
                return cancellable(executor.schedule(guarded(owner, task), delay.toNanos(), TimeUnit.NANOSECONDS));
            }

            @Override
            public Cancellable scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay)
            {
                requireNonNull(task, "task is null");
                checkNotNegative(initialDelay, "initialDelay");
                if (delay.isZero() || delay.isNegative()) {
                    throw new IllegalArgumentException("delay must be positive: " + delay);
                }
                return cancellable(executor.scheduleWithFixedDelay(guarded(owner, task), initialDelay.toNanos(), delay.toNanos(), TimeUnit.NANOSECONDS));
            }

            @Override
            public String toString()
            {
                return "scheduler of " + owner;
            }
        };
    }

    /** Wraps a task so that nothing it throws escapes to the executor, which would cancel a periodic task. */
    static Runnable guarded(String owner, Runnable task)
    {
        return () -> {
            try {
                task.run();
            }
            catch (Throwable e) {
                // an Error included: a plugin linked against a class its loader cannot see, a StackOverflowError, or an
                // OutOfMemoryError on this thread must not end the loop for good
                log.error("A scheduled task of {} failed; it runs again at its next time, if it is periodic", owner, e);
            }
        };
    }

    private static PolicyScheduler.Cancellable cancellable(ScheduledFuture<?> future)
    {
        return new PolicyScheduler.Cancellable()
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

    private static void checkNotNegative(Duration duration, String name)
    {
        requireNonNull(duration, name + " is null");
        if (duration.isNegative()) {
            throw new IllegalArgumentException(name + " is negative: " + duration);
        }
    }

    @Override
    public void close()
    {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("Engine scheduler did not stop within 5 seconds");
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
