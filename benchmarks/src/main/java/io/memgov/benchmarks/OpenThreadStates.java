package io.memgov.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Counts the thread-scoped states a benchmark-scoped state handed resources to. JMH may run the benchmark-scoped
 * teardown before another thread's thread-scoped teardown, so a teardown that checks everything was given back first
 * waits for every thread's state to report itself closed.
 */
final class OpenThreadStates
{
    private final AtomicInteger opened = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();

    /** A thread's state took its resources; returns its number, 1 for the first. */
    int opened()
    {
        return opened.incrementAndGet();
    }

    /** A thread's state gave its resources back. */
    void closed()
    {
        closed.incrementAndGet();
    }

    /** Waits up to 10 s for every opened state to be closed; the caller's check then reports what is left. */
    void awaitAllClosed()
    {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (closed.get() < opened.get() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }
}
