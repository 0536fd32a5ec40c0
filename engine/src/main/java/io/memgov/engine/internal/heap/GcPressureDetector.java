package io.memgov.engine.internal.heap;

import java.util.List;

/**
 * Decides whether the JVM is under GC pressure, from a {@link HeapSnapshot}: a pure function, cheap enough to run on
 * every collection. Pressure is either of:
 * <ul>
 * <li><b>GC time</b>: GC pauses took more than {@code gcTimeThreshold} of the snapshot's window
 * ({@link HeapSnapshot#gcTimeFraction()});</li>
 * <li><b>live heap</b>: each of the last {@code fullCollections} full collections left more than
 * {@code liveThreshold} of the max heap live, the newest of them ended within the snapshot's window, and no collection
 * since left less (a young collection's figure is an upper bound of the live heap, so one under the threshold proves
 * the heap came back down).</li>
 * </ul>
 *
 * <p><b>Defaults.</b> Presto's worker-side GC killer ({@code HighMemoryTaskKiller}, off by default) kills the task
 * using the most memory after a single full collection that finds more than 90% of the heap in use
 * ({@code experimental.task.high-memory-task-killer-heap-memory-threshold=0.9}) and frees less than 1% of it, or after
 * two full collections less than 1 s apart that each free less than 1%. memgov responds more gently (it revokes
 * first) and so may decide a little earlier, but on a sustained condition: the live heap above
 * {@value #DEFAULT_LIVE_THRESHOLD} of the heap after {@value #DEFAULT_FULL_COLLECTIONS} full collections in a row.
 * Presto has no GC-time criterion; Elasticsearch logs a warning when GC takes more than 50% of an interval, and the
 * JVM itself gives up at 98% ({@code -XX:GCTimeLimit}). Measured in child JVMs ({@code -Xmx64m} and {@code 256m},
 * G1, Serial, Parallel, an allocation-heavy loop that also replaces retained objects): 12-37% of wall time in GC with
 * 25% of the heap retained, 55-92% with 88% retained (G1 at 256m: 26-34%, but then 89% of the heap live). Hence
 * {@value #DEFAULT_GC_TIME_THRESHOLD}: above every healthy run, below almost every thrashing one; the live-heap
 * criterion catches the rest.
 *
 * <p>Thread-safe (immutable).
 */
public final class GcPressureDetector
{
    public static final double DEFAULT_GC_TIME_THRESHOLD = 0.5;
    public static final double DEFAULT_LIVE_THRESHOLD = 0.9;
    public static final int DEFAULT_FULL_COLLECTIONS = 3;

    private final double gcTimeThreshold;
    private final double liveThreshold;
    private final int fullCollections;

    /** A detector with the defaults. */
    public GcPressureDetector()
    {
        this(DEFAULT_GC_TIME_THRESHOLD, DEFAULT_LIVE_THRESHOLD, DEFAULT_FULL_COLLECTIONS);
    }

    /**
     * @param gcTimeThreshold pressure when GC pauses take more than this share of the window, in (0, 1]
     * @param liveThreshold pressure when full collections leave more than this share of the max heap live, in (0, 1]
     * @param fullCollections how many full collections in a row must, in [1, {@link HeapSnapshot#RECENT_FULL_COLLECTIONS}]
     * @throws IllegalArgumentException naming the bad argument, its value and what is accepted
     */
    public GcPressureDetector(double gcTimeThreshold, double liveThreshold, int fullCollections)
    {
        this.gcTimeThreshold = checkShare("gcTimeThreshold", gcTimeThreshold);
        this.liveThreshold = checkShare("liveThreshold", liveThreshold);
        if (fullCollections < 1 || fullCollections > HeapSnapshot.RECENT_FULL_COLLECTIONS) {
            throw new IllegalArgumentException("fullCollections must be in [1, " + HeapSnapshot.RECENT_FULL_COLLECTIONS + "]: " + fullCollections);
        }
        this.fullCollections = fullCollections;
    }

    public GcPressure evaluate(HeapSnapshot snapshot)
    {
        List<HeapCollection> full = snapshot.recentFullCollections();
        List<HeapCollection> run = full.subList(Math.max(0, full.size() - fullCollections), full.size());
        double limit = liveThreshold * snapshot.maxHeapBytes();
        boolean liveHeapExceeded = run.size() == fullCollections
                && run.stream().allMatch(collection -> collection.usedAfterBytes() > limit)
                && snapshot.lastLiveBytes() > limit
                && snapshot.uptimeMillis() - run.get(run.size() - 1).endUptimeMillis() <= snapshot.gcTimeWindow().toMillis();
        return new GcPressure(
                snapshot.gcTimeFraction() > gcTimeThreshold,
                liveHeapExceeded,
                snapshot.gcTimeFraction(),
                snapshot.gcTimeWindow(),
                run.stream().map(HeapCollection::usedAfterBytes).toList(),
                snapshot.maxHeapBytes());
    }

    private static double checkShare(String name, double value)
    {
        if (!(value > 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be in (0, 1]: " + value);
        }
        return value;
    }
}
