package io.memgov.engine;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * What the engine knows about the real JVM heap, as of the last garbage collection: the figures the nodes' effective
 * pool maxima follow, and whether the JVM is under GC pressure. All sizes in bytes; before the first collection the live
 * figures are 0. Part of {@link ClusterMemorySnapshot}, so it is served with {@code /v1/cluster/memory}.
 *
 * @param governed whether the nodes govern this JVM's heap ({@code node.heap-governed}); when false the figures are
 * published and nothing follows them
 * @param maxHeapBytes the JVM's max heap
 * @param liveBytes heap in use after the last collection (an upper bound of the live heap after a young one)
 * @param lastFullLiveBytes heap in use after the last full collection
 * @param trackedBytes what the pools of this JVM's nodes held when the last collection was recorded
 * @param untrackedBytes {@code max(0, liveBytes - trackedBytes)}: heap memgov did not account
 * @param smoothedUntrackedBytes the untracked figure the effective maxima follow (set by full collections, moved part
 * of the way by young ones)
 * @param gcTimeFraction the share of the last {@code memory.heap.gc-time-window} the application was paused for GC
 * @param youngCollections young collections since the engine started
 * @param fullCollections full collections since the engine started
 * @param underGcPressure whether the last collection found the JVM under GC pressure
 * @param gcPressure the GC figures in one line, e.g. {@code GC took 62% of the last 10s; live heap after the last 3
 * full collections 94%, 95%, 97% of 256MB}
 * @param queriesKilledDueToHeapPressure queries failed with {@code EXCEEDED_HEAP_MEMORY_LIMIT} since the engine started
 * @param nodes each node's part, by node id
 */
public record HeapMemorySnapshot(
        boolean governed,
        long maxHeapBytes,
        long liveBytes,
        long lastFullLiveBytes,
        long trackedBytes,
        long untrackedBytes,
        long smoothedUntrackedBytes,
        double gcTimeFraction,
        long youngCollections,
        long fullCollections,
        boolean underGcPressure,
        String gcPressure,
        long queriesKilledDueToHeapPressure,
        Map<String, NodeHeapSnapshot> nodes)
{
    public HeapMemorySnapshot
    {
        requireNonNull(gcPressure, "gcPressure is null");
        nodes = Map.copyOf(requireNonNull(nodes, "nodes is null"));
    }

    /**
     * One node's part of the heap.
     *
     * @param poolBytes its pool as configured: heap less headroom
     * @param effectiveMaxBytes what its pools may hold now: the pool less its share of the untracked memory, never under
     * {@code memory.heap.untracked-floor} of the pool; equal to {@code poolBytes} when the heap is not governed
     * @param trackedBytes what its pools held at the last collection
     * @param untrackedShareBytes its share of the untracked memory the heap no node claims does not absorb
     */
    public record NodeHeapSnapshot(long poolBytes, long effectiveMaxBytes, long trackedBytes, long untrackedShareBytes) {}
}
