package io.memgov.engine.internal.visibility;

/**
 * The real heap as the engine follows it, under {@code io.memgov:type=Heap,engine=<engine>}: figures as of the last
 * garbage collection (see {@code HeapMemorySnapshot}). Sizes in bytes.
 */
public interface HeapMXBean
{
    /** Whether the nodes govern this JVM's heap ({@code node.heap-governed}). */
    boolean isGoverned();

    long getMaxHeapBytes();

    /** Heap in use after the last collection. */
    long getLiveBytes();

    /** Heap in use after the last full collection. */
    long getLastFullLiveBytes();

    /** What the nodes' pools held at the last collection. */
    long getTrackedBytes();

    /** Live heap less tracked bytes. */
    long getUntrackedBytes();

    /** The untracked figure the effective pool maxima follow. */
    long getSmoothedUntrackedBytes();

    /** Share of the GC-time window the application was paused for GC, in [0, 1]. */
    double getGcTimeFraction();

    long getYoungCollections();

    long getFullCollections();

    boolean isUnderGcPressure();

    long getQueriesKilledDueToHeapPressure();
}
