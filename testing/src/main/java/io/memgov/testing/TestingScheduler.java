package io.memgov.testing;

import io.memgov.spi.policy.PolicyScheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

import static java.util.Objects.requireNonNull;

/**
 * A {@link PolicyScheduler} whose tasks run only when the test advances its {@link TestingClock}, on the test's
 * thread, in the order they are due (ties in the order they were scheduled). Like the engine's scheduler, a task that
 * throws is recorded (see {@link #failures()}) and a periodic task runs again at its next time.
 *
 * <pre>{@code
 * TestingClock clock = new TestingClock();
 * TestingScheduler scheduler = new TestingScheduler(clock);
 * MyPolicy policy = factory.create(config, TestingContexts.cluster(clock, scheduler));
 * scheduler.advance(Duration.ofSeconds(1));   // runs what was due within the second
 * }</pre>
 *
 * Thread-safe: policies may schedule from any thread; tasks run only inside {@link #advance} and {@link #runDue}.
 *
 * @since 1.0
 */
public final class TestingScheduler
        implements PolicyScheduler
{
    private final TestingClock clock;
    private final PriorityQueue<Task> queue = new PriorityQueue<>(Comparator.comparing((Task task) -> task.due).thenComparingLong(task -> task.sequence));
    private final List<Throwable> failures = new ArrayList<>();
    private long sequence;

    public TestingScheduler(TestingClock clock)
    {
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The clock this scheduler reads. */
    public TestingClock clock()
    {
        return clock;
    }

    @Override
    public synchronized Cancellable schedule(Runnable task, Duration delay)
    {
        requireNonNull(task, "task is null");
        checkNotNegative(delay, "delay");
        return add(new Task(task, clock.instant().plus(delay), null, sequence++));
    }

    @Override
    public synchronized Cancellable scheduleWithFixedDelay(Runnable task, Duration initialDelay, Duration delay)
    {
        requireNonNull(task, "task is null");
        checkNotNegative(initialDelay, "initialDelay");
        requireNonNull(delay, "delay is null");
        if (delay.isZero() || delay.isNegative()) {
            throw new IllegalArgumentException("delay must be positive: " + delay);
        }
        return add(new Task(task, clock.instant().plus(initialDelay), delay, sequence++));
    }

    private Task add(Task task)
    {
        queue.add(task);
        return task;
    }

    /** Advances the clock by {@code duration}, running every task that falls due on the way, at its due time. */
    public void advance(Duration duration)
    {
        requireNonNull(duration, "duration is null");
        Instant end = clock.instant().plus(duration);
        while (true) {
            Task next;
            synchronized (this) {
                next = queue.peek();
                if (next == null || next.due.isAfter(end)) {
                    break;
                }
                queue.poll();
            }
            if (next.due.isAfter(clock.instant())) {
                clock.set(next.due);
            }
            run(next);
        }
        if (end.isAfter(clock.instant())) {
            clock.set(end);
        }
    }

    /** Runs every task that is due now, without moving the clock. Returns how many ran. */
    public int runDue()
    {
        int ran = 0;
        while (true) {
            Task next;
            synchronized (this) {
                next = queue.peek();
                if (next == null || next.due.isAfter(clock.instant())) {
                    return ran;
                }
                queue.poll();
            }
            run(next);
            ran++;
        }
    }

    private void run(Task task)
    {
        if (task.cancelled) {
            return;
        }
        try {
            task.runnable.run();
        }
        catch (Throwable e) {
            synchronized (this) {
                failures.add(e);
            }
        }
        synchronized (this) {
            if (task.delay != null && !task.cancelled) {
                task.due = clock.instant().plus(task.delay);
                task.sequence = sequence++;
                queue.add(task);
            }
        }
    }

    /** Tasks scheduled and not yet run or cancelled (a periodic task counts once). */
    public synchronized int pendingTasks()
    {
        return (int) queue.stream().filter(task -> !task.cancelled).count();
    }

    /** What tasks threw, in order. */
    public synchronized List<Throwable> failures()
    {
        return List.copyOf(failures);
    }

    private static void checkNotNegative(Duration duration, String name)
    {
        requireNonNull(duration, name + " is null");
        if (duration.isNegative()) {
            throw new IllegalArgumentException(name + " is negative: " + duration);
        }
    }

    private static final class Task
            implements Cancellable
    {
        private final Runnable runnable;
        private final Duration delay;
        private Instant due;
        private long sequence;
        private volatile boolean cancelled;

        private Task(Runnable runnable, Instant due, Duration delay, long sequence)
        {
            this.runnable = runnable;
            this.due = due;
            this.delay = delay;
            this.sequence = sequence;
        }

        @Override
        public void cancel()
        {
            cancelled = true;
        }

        @Override
        public boolean isCancelled()
        {
            return cancelled;
        }
    }
}
