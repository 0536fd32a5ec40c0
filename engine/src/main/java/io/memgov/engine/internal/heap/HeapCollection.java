package io.memgov.engine.internal.heap;

import static java.util.Objects.requireNonNull;

/**
 * One garbage collection as the JVM reported it. Heap figures are summed over the JVM's heap memory pools only
 * (Metaspace and code caches are left out). Times are milliseconds since the JVM started on the clock the JVM stamps
 * collections with ({@link com.sun.management.GcInfo#getStartTime()}), which runs a few tens of milliseconds behind
 * {@link java.lang.management.RuntimeMXBean#getUptime()}.
 *
 * @param collectorName the collector's MXBean name, e.g. {@code G1 Young Generation}; never null
 * @param kind what it collected, which says how far {@code usedAfterBytes} is the live heap
 * @param concurrent true for a collection that ran alongside the application (a ZGC or Shenandoah cycle): its
 * duration is not a pause and is not counted as GC time. Never true for {@link CollectionKind#PAUSE}
 * @param cause the JVM's cause, e.g. {@code Allocation Failure} or {@code System.gc()}; never null
 * @param startUptimeMillis when it started
 * @param durationMillis how long it took, at millisecond precision (a sub-millisecond pause reads 0)
 * @param usedBeforeBytes heap in use when it started
 * @param usedAfterBytes heap in use when it ended: the live heap after a {@link CollectionKind#FULL} collection, an
 * upper bound of it after a {@link CollectionKind#YOUNG} one; not meaningful for a {@link CollectionKind#PAUSE}
 */
public record HeapCollection(
        String collectorName,
        CollectionKind kind,
        boolean concurrent,
        String cause,
        long startUptimeMillis,
        long durationMillis,
        long usedBeforeBytes,
        long usedAfterBytes)
{
    public HeapCollection
    {
        requireNonNull(collectorName, "collectorName is null");
        requireNonNull(kind, "kind is null");
        requireNonNull(cause, "cause is null");
        if (concurrent && kind == CollectionKind.PAUSE) {
            throw new IllegalArgumentException("a pause of " + collectorName + " cannot be concurrent");
        }
        checkNotNegative(startUptimeMillis, "startUptimeMillis");
        checkNotNegative(durationMillis, "durationMillis");
        checkNotNegative(usedBeforeBytes, "usedBeforeBytes");
        checkNotNegative(usedAfterBytes, "usedAfterBytes");
    }

    /** When it ended, in JVM uptime milliseconds. */
    public long endUptimeMillis()
    {
        return startUptimeMillis + durationMillis;
    }

    /** Whether {@link #usedAfterBytes()} says something about the live heap: true for young and full collections. */
    public boolean hasLiveFigure()
    {
        return kind != CollectionKind.PAUSE;
    }

    private static void checkNotNegative(long value, String name)
    {
        if (value < 0) {
            throw new IllegalArgumentException(name + " is negative: " + value);
        }
    }
}
