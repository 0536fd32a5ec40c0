package io.memgov.lab;

import io.memgov.engine.HeapMemorySnapshot;
import io.memgov.engine.HeapMemorySnapshot.NodeHeapSnapshot;
import io.memgov.engine.MemoryEngine;
import io.memgov.lab.RunResult.Heap;
import io.memgov.lab.RunResult.HeapSample;

import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Records the real heap while a workload runs: the engine's heap figures at every sample of the run, and the JVM's
 * count of {@code OutOfMemoryError}s from the start of the run to its end. Used by the run's sampling thread only.
 */
final class HeapRecorder
{
    private final MemoryEngine engine;
    private final HeapMemorySnapshot start;
    private final long outOfMemoryErrorsAtStart;
    private final List<HeapSample> timeline = new ArrayList<>();
    private long peakLiveBytes;
    private long peakTrackedBytes;
    private long peakUntrackedBytes;
    private long leastEffectiveMaxBytes = Long.MAX_VALUE;

    HeapRecorder(MemoryEngine engine)
    {
        this.engine = requireNonNull(engine, "engine is null");
        this.outOfMemoryErrorsAtStart = JvmOutOfMemoryErrors.thrown();
        this.start = engine.heapSnapshot();
    }

    void sample(long millis)
    {
        HeapMemorySnapshot heap = engine.heapSnapshot();
        long effective = 0;
        for (NodeHeapSnapshot node : heap.nodes().values()) {
            effective += node.effectiveMaxBytes();
        }
        timeline.add(new HeapSample(millis, heap.liveBytes(), heap.trackedBytes(), heap.untrackedBytes(), effective));
        peakLiveBytes = Math.max(peakLiveBytes, heap.liveBytes());
        peakTrackedBytes = Math.max(peakTrackedBytes, heap.trackedBytes());
        peakUntrackedBytes = Math.max(peakUntrackedBytes, heap.untrackedBytes());
        leastEffectiveMaxBytes = Math.min(leastEffectiveMaxBytes, effective);
    }

    List<HeapSample> timeline()
    {
        return timeline;
    }

    /** The figures of the whole run; call once every query ended. */
    Heap finish()
    {
        HeapMemorySnapshot end = engine.heapSnapshot();
        long poolBytes = 0;
        long effective = 0;
        for (NodeHeapSnapshot node : end.nodes().values()) {
            poolBytes += node.poolBytes();
            effective += node.effectiveMaxBytes();
        }
        long thrown = JvmOutOfMemoryErrors.thrown();
        return new Heap(end.governed(), end.maxHeapBytes(), poolBytes,
                Math.max(peakLiveBytes, end.liveBytes()),
                Math.max(peakTrackedBytes, end.trackedBytes()),
                Math.max(peakUntrackedBytes, end.untrackedBytes()),
                Math.min(leastEffectiveMaxBytes, effective),
                end.youngCollections() - start.youngCollections(),
                end.fullCollections() - start.fullCollections(),
                end.queriesKilledDueToHeapPressure() - start.queriesKilledDueToHeapPressure(),
                thrown == JvmOutOfMemoryErrors.UNKNOWN || outOfMemoryErrorsAtStart == JvmOutOfMemoryErrors.UNKNOWN
                        ? JvmOutOfMemoryErrors.UNKNOWN
                        : thrown - outOfMemoryErrorsAtStart);
    }
}
