package io.memgov.engine.internal.heap;

import java.util.Arrays;

/**
 * Pause time over a sliding window, in constant memory: the window is cut into {@value #BUCKETS} buckets that each
 * add up the pause milliseconds falling in them. A thrashing JVM reports hundreds of collections a second; keeping each
 * one for a 10 s window would cost the heap it is measuring. The oldest bucket, partly outside the window, is counted
 * pro rata, so the fraction is exact to one bucket (1% of the window). Not thread-safe.
 */
final class PauseTimeWindow
{
    static final int BUCKETS = 100;

    private final long windowMillis;
    private final long bucketMillis;
    // slot i holds bucket bucketIndex[i] (bucket b covers [b * bucketMillis, (b + 1) * bucketMillis)); -1 when empty
    private final long[] bucketIndex;
    private final long[] pausedMillis;

    PauseTimeWindow(long windowMillis)
    {
        if (windowMillis <= 0) {
            throw new IllegalArgumentException("windowMillis is not positive: " + windowMillis);
        }
        this.windowMillis = windowMillis;
        this.bucketMillis = Math.max(1, windowMillis / BUCKETS);
        // the window plus the partial buckets at both of its ends
        int slots = (int) Math.min(Integer.MAX_VALUE, windowMillis / bucketMillis + 2);
        this.bucketIndex = new long[slots];
        this.pausedMillis = new long[slots];
        Arrays.fill(bucketIndex, -1);
    }

    void add(long startMillis, long endMillis)
    {
        if (endMillis < startMillis) {
            throw new IllegalArgumentException("pause ends before it starts: " + startMillis + " > " + endMillis);
        }
        for (long bucket = startMillis / bucketMillis; bucket * bucketMillis < endMillis; bucket++) {
            long overlap = Math.min(endMillis, (bucket + 1) * bucketMillis) - Math.max(startMillis, bucket * bucketMillis);
            int slot = (int) (bucket % bucketIndex.length);
            if (bucketIndex[slot] != bucket) {
                if (bucketIndex[slot] > bucket) {
                    // older than anything the ring still holds: already outside every window we will be asked about
                    continue;
                }
                bucketIndex[slot] = bucket;
                pausedMillis[slot] = 0;
            }
            pausedMillis[slot] += overlap;
        }
    }

    /** Paused share of {@code [nowMillis - window, nowMillis)}, in [0, 1]. */
    double fraction(long nowMillis)
    {
        long windowStart = nowMillis - windowMillis;
        double paused = 0;
        for (int slot = 0; slot < bucketIndex.length; slot++) {
            long bucket = bucketIndex[slot];
            if (bucket < 0) {
                continue;
            }
            long bucketStart = bucket * bucketMillis;
            long bucketEnd = bucketStart + bucketMillis;
            long inside = Math.min(bucketEnd, nowMillis) - Math.max(bucketStart, windowStart);
            if (inside <= 0) {
                continue;
            }
            paused += pausedMillis[slot] * ((double) inside / bucketMillis);
        }
        return Math.min(1, paused / windowMillis);
    }
}
