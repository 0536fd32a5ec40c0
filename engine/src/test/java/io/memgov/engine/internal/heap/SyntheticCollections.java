package io.memgov.engine.internal.heap;

/**
 * Synthetic collections for the pure tests: times in ms of JVM uptime, sizes in MB.
 */
final class SyntheticCollections
{
    static final long MB = 1024 * 1024;

    private SyntheticCollections() {}

    static HeapCollection young(long startMillis, long durationMillis, long liveMegabytes)
    {
        return new HeapCollection("G1 Young Generation", CollectionKind.YOUNG, false, "G1 Evacuation Pause", startMillis, durationMillis, (liveMegabytes + 8) * MB, liveMegabytes * MB);
    }

    static HeapCollection full(long startMillis, long durationMillis, long liveMegabytes)
    {
        return new HeapCollection("G1 Old Generation", CollectionKind.FULL, false, "Allocation Failure", startMillis, durationMillis, (liveMegabytes + 8) * MB, liveMegabytes * MB);
    }

    static HeapCollection concurrentCycle(long startMillis, long durationMillis, long liveMegabytes)
    {
        return new HeapCollection("ZGC Cycles", CollectionKind.FULL, true, "Allocation Rate", startMillis, durationMillis, (liveMegabytes + 8) * MB, liveMegabytes * MB);
    }

    static HeapCollection pause(long startMillis, long durationMillis)
    {
        return new HeapCollection("ZGC Pauses", CollectionKind.PAUSE, false, "Allocation Rate", startMillis, durationMillis, 0, 0);
    }
}
