package io.memgov.engine.internal.heap;

import io.memgov.spi.query.NodeId;

import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * The heap memgov does not track, and what it leaves each node's pool. After each young or full collection:
 * <pre>
 * untracked          = max(0, live after GC - sum of the nodes' tracked bytes)
 * smoothed untracked = set to untracked after a full collection, moved {@code smoothing} of the way toward it after a young one
 * excess             = max(0, smoothed untracked - unclaimed heap)       unclaimed heap = max heap - sum of the nodes' heaps
 * node's share       = excess * node's heap / sum of the nodes' heaps    (rounded up)
 * effective maximum  = max(floor, heap - headroom - node's share)        floor = floorRatio * (heap - headroom)
 * </pre>
 * Untracked memory first fills the heap no node claims: a host that gives its nodes 128MB of a 256MB JVM keeps the
 * rest for itself, and memory it uses there is no node's concern. What is left is split by each node's share of the
 * claimed heap, as the nodes of an embedded cluster share one JVM. Smoothing the untracked figure rather than the live
 * heap matters: tracked memory that grows with the live heap must not look like a drop of untracked memory.
 *
 * <p>The tracked suppliers are read when a collection is recorded, on the caller's thread (the GC notification thread
 * when fed by a {@link HeapListener}); they must be cheap, thread-safe and non-negative (a pool's reserved bytes).
 * Tracked bytes are read some milliseconds after the collection ended, and a reservation usually precedes its
 * allocation, so the untracked figure errs low by what was reserved and not yet allocated.
 *
 * <p>Thread-safe: {@link #update} is serialized; {@link #estimate()} returns the last result without locking.
 */
public final class UntrackedMemory
{
    /** The least a node's effective maximum may drop to, as a share of its pool (heap less headroom). */
    public static final double DEFAULT_FLOOR_RATIO = 0.1;

    private final long maxHeapBytes;
    private final List<Node> nodes;
    private final long claimedHeapBytes;
    private final double floorRatio;
    private final CollectionSmoother smoothed;
    private volatile Estimate estimate;

    /**
     * @param maxHeapBytes the JVM's max heap ({@link HeapSnapshot#maxHeapBytes()})
     * @param nodes the nodes governing this JVM's heap; at least one, ids unique, heaps adding up to at most the max heap
     * @param floorRatio the least effective maximum as a share of a node's pool, in [0, 1]
     * @param smoothing how far a young collection moves the smoothed untracked figure toward its own, in (0, 1]
     * @throws IllegalArgumentException naming the bad argument, its value and what is accepted
     */
    public UntrackedMemory(long maxHeapBytes, List<Node> nodes, double floorRatio, double smoothing)
    {
        if (maxHeapBytes <= 0) {
            throw new IllegalArgumentException("maxHeapBytes is not positive: " + maxHeapBytes);
        }
        this.nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
        if (this.nodes.isEmpty()) {
            throw new IllegalArgumentException("nodes is empty: untracked memory is split over at least one node");
        }
        Set<NodeId> ids = new HashSet<>();
        long claimed = 0;
        for (Node node : this.nodes) {
            if (!ids.add(node.nodeId())) {
                throw new IllegalArgumentException("node " + node.nodeId() + " is listed twice");
            }
            claimed += node.heapBytes();
        }
        if (claimed > maxHeapBytes) {
            throw new IllegalArgumentException(String.format("the nodes' heaps add up to %s (%d bytes), more than the max heap %s (%d bytes)",
                    succinct(claimed), claimed, succinct(maxHeapBytes), maxHeapBytes));
        }
        if (!(floorRatio >= 0 && floorRatio <= 1)) {
            throw new IllegalArgumentException("floorRatio must be in [0, 1]: " + floorRatio);
        }
        this.maxHeapBytes = maxHeapBytes;
        this.claimedHeapBytes = claimed;
        this.floorRatio = floorRatio;
        this.smoothed = new CollectionSmoother(smoothing);
        Map<NodeId, Long> none = new LinkedHashMap<>();
        this.nodes.forEach(node -> none.put(node.nodeId(), 0L));
        this.estimate = compute(0, 0, none, 0);
    }

    /**
     * Records a collection and returns the new estimate; a {@link CollectionKind#PAUSE} changes nothing and returns the
     * current one.
     *
     * @throws IllegalStateException when a tracked supplier returns a negative value
     */
    public synchronized Estimate update(HeapCollection collection)
    {
        requireNonNull(collection, "collection is null");
        if (!collection.hasLiveFigure()) {
            return estimate;
        }
        Map<NodeId, Long> tracked = trackedBytesAll();
        long trackedTotal = tracked.values().stream().mapToLong(Long::longValue).sum();
        long live = collection.usedAfterBytes();
        long untracked = Math.max(0, live - trackedTotal);
        long smoothedUntracked = smoothed.update(collection.kind(), untracked);
        estimate = compute(live, untracked, tracked, smoothedUntracked);
        return estimate;
    }

    /** The estimate after the last recorded collection; before any, all figures 0 and every pool at its full size. */
    public Estimate estimate()
    {
        return estimate;
    }

    private Map<NodeId, Long> trackedBytesAll()
    {
        Map<NodeId, Long> tracked = new LinkedHashMap<>();
        for (Node node : nodes) {
            long bytes = node.trackedBytes().getAsLong();
            if (bytes < 0) {
                throw new IllegalStateException("tracked bytes of node " + node.nodeId() + " are negative: " + bytes);
            }
            tracked.put(node.nodeId(), bytes);
        }
        return tracked;
    }

    private Estimate compute(long live, long untracked, Map<NodeId, Long> tracked, long smoothedUntracked)
    {
        long unclaimed = maxHeapBytes - claimedHeapBytes;
        long excess = Math.max(0, smoothedUntracked - unclaimed);
        Map<NodeId, NodeEstimate> result = new LinkedHashMap<>();
        long trackedTotal = 0;
        for (Node node : nodes) {
            long pool = node.heapBytes() - node.headroomBytes();
            long share = (long) Math.ceil((double) excess * node.heapBytes() / claimedHeapBytes);
            long floor = (long) Math.ceil(floorRatio * pool);
            long nodeTracked = tracked.get(node.nodeId());
            trackedTotal += nodeTracked;
            result.put(node.nodeId(), new NodeEstimate(node.nodeId(), pool, nodeTracked, share, Math.max(floor, pool - share)));
        }
        return new Estimate(live, trackedTotal, untracked, smoothedUntracked, unclaimed, result);
    }

    /**
     * A node governing part of the JVM heap.
     *
     * @param nodeId the node
     * @param heapBytes the heap it governs ({@code node.heap-size}); positive
     * @param headroomBytes the part of it kept out of its pool ({@code memory.heap-headroom-per-node}); in [0, heapBytes)
     * @param trackedBytes what memgov tracks on it now: the reserved bytes of its heap pools
     */
    public record Node(NodeId nodeId, long heapBytes, long headroomBytes, LongSupplier trackedBytes)
    {
        public Node
        {
            requireNonNull(nodeId, "nodeId is null");
            requireNonNull(trackedBytes, "trackedBytes is null");
            if (heapBytes <= 0) {
                throw new IllegalArgumentException("heapBytes of node " + nodeId + " is not positive: " + heapBytes);
            }
            if (headroomBytes < 0 || headroomBytes >= heapBytes) {
                throw new IllegalArgumentException(String.format("headroomBytes of node %s must be in [0, %d) (its heap, %s): %d",
                        nodeId, heapBytes, succinct(heapBytes), headroomBytes));
            }
        }
    }

    /**
     * The JVM-wide figures after one collection, and each node's part.
     *
     * @param liveBytes the live heap after the collection (an upper bound after a young one)
     * @param trackedBytes what memgov tracked on all nodes when it was recorded
     * @param untrackedBytes {@code max(0, liveBytes - trackedBytes)}
     * @param smoothedUntrackedBytes the smoothed untracked figure the nodes' maxima follow
     * @param unclaimedHeapBytes the max heap no node claims, which absorbs untracked memory first
     * @param nodes each node's estimate, in the order the nodes were given
     */
    public record Estimate(
            long liveBytes,
            long trackedBytes,
            long untrackedBytes,
            long smoothedUntrackedBytes,
            long unclaimedHeapBytes,
            Map<NodeId, NodeEstimate> nodes)
    {
        public Estimate
        {
            nodes = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(nodes, "nodes is null")));
        }

        public NodeEstimate node(NodeId nodeId)
        {
            NodeEstimate node = nodes.get(nodeId);
            if (node == null) {
                throw new IllegalArgumentException("unknown node " + nodeId + "; known: " + nodes.keySet());
            }
            return node;
        }
    }

    /**
     * One node's part.
     *
     * @param nodeId the node
     * @param poolBytes its pool as configured: heap less headroom
     * @param trackedBytes what memgov tracked on it
     * @param untrackedBytes its share of the untracked memory the unclaimed heap does not absorb
     * @param effectiveMaxBytes what its pool may hold now: {@code poolBytes - untrackedBytes}, never under the floor
     */
    public record NodeEstimate(NodeId nodeId, long poolBytes, long trackedBytes, long untrackedBytes, long effectiveMaxBytes)
    {
        public NodeEstimate
        {
            requireNonNull(nodeId, "nodeId is null");
        }
    }
}
