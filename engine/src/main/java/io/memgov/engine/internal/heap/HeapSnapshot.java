package io.memgov.engine.internal.heap;

import java.time.Duration;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * What the {@link HeapObserver} knows about the JVM heap at one moment. Bytes are summed over the heap memory pools.
 * Before the first collection every live figure is 0; check {@link #youngCollections()} and {@link #fullCollections()}.
 *
 * @param uptimeMillis when it was taken, on the clock of {@link HeapCollection}'s times
 * @param maxHeapBytes the most heap the JVM will use ({@link Runtime#maxMemory()}: {@code -Xmx}, less one survivor
 * space for Serial and Parallel)
 * @param lastLiveBytes heap in use after the last young or full collection: an upper bound of the live heap then
 * @param lastFullLiveBytes heap in use after the last full collection: the live heap then
 * @param smoothedLiveBytes the live heap, smoothed: set to the figure of each full collection, and moved
 * {@code smoothing} of the way toward the figure of each young one (see the package documentation)
 * @param gcTimeFraction the share of wall time in the last {@code gcTimeWindow} the application was paused for GC, in
 * [0, 1]; pauses only: the concurrent cycles of ZGC and Shenandoah do not count
 * @param gcTimeWindow the window of {@code gcTimeFraction}
 * @param youngCollections young collections seen since the observer started
 * @param fullCollections full collections seen since the observer started
 * @param pauses pauses of concurrent collectors seen since the observer started
 * @param gcTimeMillis application paused for GC since the observer started, in milliseconds
 * @param recentFullCollections the last full collections, oldest first, at most {@link #RECENT_FULL_COLLECTIONS}
 */
public record HeapSnapshot(
        long uptimeMillis,
        long maxHeapBytes,
        long lastLiveBytes,
        long lastFullLiveBytes,
        long smoothedLiveBytes,
        double gcTimeFraction,
        Duration gcTimeWindow,
        long youngCollections,
        long fullCollections,
        long pauses,
        long gcTimeMillis,
        List<HeapCollection> recentFullCollections)
{
    /** How many full collections a snapshot keeps. */
    public static final int RECENT_FULL_COLLECTIONS = 8;

    public HeapSnapshot
    {
        requireNonNull(gcTimeWindow, "gcTimeWindow is null");
        recentFullCollections = List.copyOf(requireNonNull(recentFullCollections, "recentFullCollections is null"));
        if (maxHeapBytes <= 0) {
            throw new IllegalArgumentException("maxHeapBytes is not positive: " + maxHeapBytes);
        }
        if (!(gcTimeFraction >= 0 && gcTimeFraction <= 1)) {
            throw new IllegalArgumentException("gcTimeFraction is not in [0, 1]: " + gcTimeFraction);
        }
        if (recentFullCollections.size() > RECENT_FULL_COLLECTIONS) {
            throw new IllegalArgumentException("more than " + RECENT_FULL_COLLECTIONS + " recent full collections: " + recentFullCollections.size());
        }
    }
}
