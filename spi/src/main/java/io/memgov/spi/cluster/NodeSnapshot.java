package io.memgov.spi.cluster;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Everything the cluster loop knows of one node, taken at one moment: its pools, the queries with a context on it (and
 * the ones that recently ended there), and the pool assignment it applied. The only thing that crosses from a node to
 * the coordinator: a transport carries these (in the documented JSON form, or its own serialization of the same
 * records) and the loop reads nothing else. Immutable.
 *
 * @param nodeId never null
 * @param sequence increases with every snapshot of this node, so that a late or repeated delivery can be recognised;
 *        non-negative
 * @param takenAt when the node took it; never null
 * @param pools the node's pools, the general one first, ids unique; at least one
 * @param assignmentVersion the version of the last pool assignment the node applied; 0 before the first
 * @param queries the queries on the node, ids unique; never null
 * @param arbitrating whether the node's arbitration ({@code memory.arbitrator.policy}) was resolving a blocked
 *        reservation when the snapshot was taken (reclaiming, revoking or killing, each step bounded by its timeout),
 *        or had one waiting for it. The cluster loop leaves such a node to its arbitration: it is not counted out of
 *        memory and not offered to the killers meanwhile. False while the arbitration only pauses a requester (the
 *        loop's killers are what frees memory for it then), and always with the {@code none} arbitrator.
 * @since 1.0
 */
public record NodeSnapshot(NodeId nodeId, long sequence, Instant takenAt, List<MemoryPoolInfo> pools, long assignmentVersion, List<QuerySnapshot> queries,
        boolean arbitrating)
{
    public NodeSnapshot
    {
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(takenAt, "takenAt is null");
        if (sequence < 0) {
            throw new IllegalArgumentException("sequence is negative: " + sequence);
        }
        if (assignmentVersion < 0) {
            throw new IllegalArgumentException("assignmentVersion is negative: " + assignmentVersion);
        }
        pools = List.copyOf(requireNonNull(pools, "pools is null"));
        queries = List.copyOf(requireNonNull(queries, "queries is null"));
        // the pool checks (at least one, unique ids) are NodeMemoryInfo's
        new NodeMemoryInfo(nodeId, pools);
        Set<QueryId> ids = new HashSet<>();
        for (QuerySnapshot query : queries) {
            if (!ids.add(query.queryId())) {
                throw new IllegalArgumentException("node " + nodeId + " lists query " + query.queryId() + " twice");
            }
        }
    }

    /** A snapshot of a node with no arbitration in progress (the form before arbitration existed). */
    public NodeSnapshot(NodeId nodeId, long sequence, Instant takenAt, List<MemoryPoolInfo> pools, long assignmentVersion, List<QuerySnapshot> queries)
    {
        this(nodeId, sequence, takenAt, pools, assignmentVersion, queries, false);
    }

    /** The node's pools as the killers see them. */
    public NodeMemoryInfo memoryInfo()
    {
        return new NodeMemoryInfo(nodeId, pools);
    }
}
