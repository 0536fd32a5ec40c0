package io.memgov.engine.internal.visibility;

import io.memgov.engine.HeapMemorySnapshot;

import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/** {@link HeapMXBean} over the heap governor's snapshot, read anew for every attribute. */
final class HeapStats
        implements HeapMXBean
{
    private final Supplier<HeapMemorySnapshot> heap;

    HeapStats(Supplier<HeapMemorySnapshot> heap)
    {
        this.heap = requireNonNull(heap, "heap is null");
    }

    @Override
    public boolean isGoverned()
    {
        return heap.get().governed();
    }

    @Override
    public long getMaxHeapBytes()
    {
        return heap.get().maxHeapBytes();
    }

    @Override
    public long getLiveBytes()
    {
        return heap.get().liveBytes();
    }

    @Override
    public long getLastFullLiveBytes()
    {
        return heap.get().lastFullLiveBytes();
    }

    @Override
    public long getTrackedBytes()
    {
        return heap.get().trackedBytes();
    }

    @Override
    public long getUntrackedBytes()
    {
        return heap.get().untrackedBytes();
    }

    @Override
    public long getSmoothedUntrackedBytes()
    {
        return heap.get().smoothedUntrackedBytes();
    }

    @Override
    public double getGcTimeFraction()
    {
        return heap.get().gcTimeFraction();
    }

    @Override
    public long getYoungCollections()
    {
        return heap.get().youngCollections();
    }

    @Override
    public long getFullCollections()
    {
        return heap.get().fullCollections();
    }

    @Override
    public boolean isUnderGcPressure()
    {
        return heap.get().underGcPressure();
    }

    @Override
    public long getQueriesKilledDueToHeapPressure()
    {
        return heap.get().queriesKilledDueToHeapPressure();
    }
}
