package io.memgov.engine.internal.heap;

/**
 * Told after each garbage collection the {@link HeapObserver} sees.
 */
@FunctionalInterface
public interface HeapListener
{
    /**
     * Called once per collection, young, full or pause, in the order the JVM reports them, on the JVM's GC notification
     * thread (HotSpot's {@code Notification Thread}). That thread delivers every GC notification of the JVM: a listener
     * must return quickly and must not block; hand slow work to an executor. What it throws is logged and dropped.
     *
     * @param collection the collection; never null
     * @param snapshot the observer's figures including it; never null
     */
    void onCollection(HeapCollection collection, HeapSnapshot snapshot);
}
