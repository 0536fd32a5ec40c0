package io.memgov.engine.internal.node;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one {@link Cleaner} that watches the memory-context handles hosts hold: when a handle becomes unreachable
 * without {@code close()}, its action releases what the context's accounting state still holds.
 */
final class ContextCleaner
{
    private static final AtomicInteger THREADS = new AtomicInteger();

    // one daemon thread for the JVM: collected contexts are rare, and the actions only release and report
    private static final Cleaner CLEANER = Cleaner.create(runnable -> {
        Thread thread = new Thread(runnable, "memgov-context-cleaner-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    });

    private ContextCleaner() {}

    /**
     * Runs {@code action} once {@code handle} is phantom reachable, or when the returned cleanable is cleaned,
     * whichever is first. The action must not reference the handle, or it would never become unreachable.
     */
    static Cleaner.Cleanable register(Object handle, Runnable action)
    {
        return CLEANER.register(handle, action);
    }
}
