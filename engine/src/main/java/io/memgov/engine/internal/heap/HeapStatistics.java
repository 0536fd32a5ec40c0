package io.memgov.engine.internal.heap;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * The observer's arithmetic, apart from the JVM so that tests can feed it collections: counts, the last and smoothed
 * live figures, the recent full collections and the pause-time window. Not thread-safe: the observer guards it.
 */
final class HeapStatistics
{
    private final long maxHeapBytes;
    private final Duration gcTimeWindow;
    private final PauseTimeWindow pauseTime;
    private final CollectionSmoother smoothedLive;
    private final ArrayDeque<HeapCollection> recentFull = new ArrayDeque<>();

    private long lastLiveBytes;
    private long lastFullLiveBytes;
    private long youngCollections;
    private long fullCollections;
    private long pauses;
    private long gcTimeMillis;
    private long latestEndMillis;

    HeapStatistics(long maxHeapBytes, Duration gcTimeWindow, double smoothing)
    {
        if (maxHeapBytes <= 0) {
            throw new IllegalArgumentException("maxHeapBytes is not positive: " + maxHeapBytes);
        }
        requireNonNull(gcTimeWindow, "gcTimeWindow is null");
        if (gcTimeWindow.toMillis() <= 0) {
            throw new IllegalArgumentException("gcTimeWindow must be at least 1ms: " + gcTimeWindow);
        }
        this.maxHeapBytes = maxHeapBytes;
        this.gcTimeWindow = gcTimeWindow;
        this.pauseTime = new PauseTimeWindow(gcTimeWindow.toMillis());
        this.smoothedLive = new CollectionSmoother(smoothing);
    }

    void record(HeapCollection collection)
    {
        requireNonNull(collection, "collection is null");
        switch (collection.kind()) {
            case YOUNG -> youngCollections++;
            case FULL -> fullCollections++;
            case PAUSE -> pauses++;
        }
        if (collection.hasLiveFigure()) {
            lastLiveBytes = collection.usedAfterBytes();
            smoothedLive.update(collection.kind(), collection.usedAfterBytes());
        }
        if (collection.kind() == CollectionKind.FULL) {
            lastFullLiveBytes = collection.usedAfterBytes();
            recentFull.addLast(collection);
            if (recentFull.size() > HeapSnapshot.RECENT_FULL_COLLECTIONS) {
                recentFull.removeFirst();
            }
        }
        if (!collection.concurrent()) {
            gcTimeMillis += collection.durationMillis();
            pauseTime.add(collection.startUptimeMillis(), collection.endUptimeMillis());
        }
        latestEndMillis = Math.max(latestEndMillis, collection.endUptimeMillis());
    }

    /**
     * The figures at {@code nowUptimeMillis}. A time before the end of the last collection (the notification carries
     * the JVM's own timestamps, read on another path than the caller's clock) is taken as that end.
     */
    HeapSnapshot snapshot(long nowUptimeMillis)
    {
        long now = Math.max(nowUptimeMillis, latestEndMillis);
        return new HeapSnapshot(
                now,
                maxHeapBytes,
                lastLiveBytes,
                lastFullLiveBytes,
                smoothedLive.value(),
                pauseTime.fraction(now),
                gcTimeWindow,
                youngCollections,
                fullCollections,
                pauses,
                gcTimeMillis,
                List.copyOf(recentFull));
    }
}
