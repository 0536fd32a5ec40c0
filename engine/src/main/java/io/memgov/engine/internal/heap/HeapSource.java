package io.memgov.engine.internal.heap;

/**
 * Where the heap governor reads the heap: the JVM's collections ({@link HeapObserver}), or a test's synthetic ones.
 */
public interface HeapSource
        extends AutoCloseable
{
    /** The figures now. */
    HeapSnapshot snapshot();

    /** Tells {@code listener} about each later collection until the registration is closed. */
    HeapObserver.Registration addListener(HeapListener listener);

    /** Stops observing; idempotent. */
    @Override
    void close();
}
