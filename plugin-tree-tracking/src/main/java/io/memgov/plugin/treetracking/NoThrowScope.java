package io.memgov.plugin.treetracking;

import io.memgov.spi.tracker.MemoryTracker;

import static java.util.Objects.requireNonNull;

/**
 * Lets the calling thread allocate past the limits of {@code thread-batched} trackers, like ClickHouse's
 * {@code LockMemoryExceptionInThread} and {@code allocNoThrow}. Inside the scope a limit that would be passed is not
 * enforced: the allocation is accounted at every level (so totals stay exact) and counted in the node's
 * allocated-without-check counter, and neither fault injection nor the overcommit killer applies.
 *
 * <pre>{@code
 * try (NoThrowScope ignored = NoThrowScope.open()) {
 *     tracker.allocate(bytes); // never throws MemoryLimitExceededException
 * }
 * }</pre>
 *
 * <p>Scopes nest and belong to the thread that opened them; close them on that thread, in reverse order. Other
 * tracker implementations ignore the scope. Use it for memory that must be taken anyway (cleanup, error reporting,
 * finishing a query that is being cancelled), never to lift a limit for ordinary work.
 *
 * @since 0.1
 */
public final class NoThrowScope
        implements AutoCloseable
{
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private final Thread owner;
    private boolean closed;

    private NoThrowScope()
    {
        this.owner = Thread.currentThread();
    }

    /** Opens a scope on the calling thread; close it with try-with-resources. */
    public static NoThrowScope open()
    {
        DEPTH.get()[0]++;
        return new NoThrowScope();
    }

    /** Whether the calling thread is inside at least one scope. */
    public static boolean isOpen()
    {
        return DEPTH.get()[0] > 0;
    }

    /**
     * Allocates {@code bytes} on {@code tracker} inside a scope: ClickHouse's {@code allocNoThrow}.
     *
     * @param bytes non-negative
     */
    public static void allocateNoThrow(MemoryTracker tracker, long bytes)
    {
        requireNonNull(tracker, "tracker is null");
        try (NoThrowScope ignored = open()) {
            tracker.allocate(bytes);
        }
    }

    /**
     * Leaves the scope. Idempotent.
     *
     * @throws IllegalStateException when called from a thread other than the one that opened it
     */
    @Override
    public void close()
    {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("NoThrowScope opened by " + owner.getName() + " closed by " + Thread.currentThread().getName());
        }
        if (!closed) {
            closed = true;
            DEPTH.get()[0]--;
        }
    }
}
