package io.memgov.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs the contract suites' concurrency checks: real threads that start together, work until a deadline and are all
 * joined; whatever one of them throws fails the check.
 */
final class Workers
{
    /** How long a concurrency check runs: long enough for races to show on two cores, short enough for a suite. */
    static final Duration RUN_TIME = Duration.ofSeconds(1);

    private Workers() {}

    @FunctionalInterface
    interface Body
    {
        /**
         * @param worker 0 to threads - 1
         * @param deadlineNanos when to stop, on {@link System#nanoTime()}'s scale
         */
        void run(int worker, long deadlineNanos)
                throws Exception;
    }

    /** Runs {@code threads} workers for {@link #RUN_TIME} and waits for all of them. */
    static void run(String name, int threads, Body body)
            throws InterruptedException
    {
        CountDownLatch start = new CountDownLatch(1);
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> started = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int worker = i;
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                    body.run(worker, System.nanoTime() + RUN_TIME.toNanos());
                }
                catch (Throwable e) {
                    failures.add(e);
                }
            }, name + "-" + worker);
            thread.setDaemon(true);
            started.add(thread);
            thread.start();
        }
        start.countDown();
        long joinDeadline = System.nanoTime() + RUN_TIME.toNanos() + TimeUnit.SECONDS.toNanos(20);
        for (Thread thread : started) {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(joinDeadline - System.nanoTime())));
            if (thread.isAlive()) {
                throw new AssertionError(thread.getName() + " did not finish within 20 s of its deadline: a call blocked");
            }
        }
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError(failures.size() + " of the " + name + " threads failed; the first: " + failures.peek(), failures.peek());
            failures.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }
}
