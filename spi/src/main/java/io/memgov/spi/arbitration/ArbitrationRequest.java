package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A node's state when a reservation blocked: who asked for how much, the pool, and every query on the node with what it
 * could give back. An immutable snapshot taken by the engine.
 *
 * @param nodeId the node
 * @param requester the query whose reservation blocked
 * @param requestedBytes the bytes it asked for, in bytes; positive
 * @param pool the node's pool after the reservation (its free bytes are zero or negative)
 * @param queries every query holding memory on the node, the requester included, largest first
 * @param now when the snapshot was taken, on the engine's clock
 * @since 1.0
 */
@Experimental
public record ArbitrationRequest(NodeId nodeId, QueryId requester, long requestedBytes, MemoryPoolInfo pool, List<ArbitrationCandidate> queries, Instant now)
{
    public ArbitrationRequest
    {
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(requester, "requester is null");
        requireNonNull(pool, "pool is null");
        requireNonNull(now, "now is null");
        queries = List.copyOf(requireNonNull(queries, "queries is null"));
        if (requestedBytes <= 0) {
            throw new IllegalArgumentException("requestedBytes is not positive: " + requestedBytes);
        }
    }

    /** Bytes the pool must get back before it has room again: its over-commitment, at least 1. */
    public long bytesToFree()
    {
        return Math.max(1, -pool.freeBytes() + 1);
    }

    /** The requester's entry among {@link #queries()}, if it holds anything yet. */
    public Optional<ArbitrationCandidate> requesterEntry()
    {
        return queries.stream().filter(query -> query.queryId().equals(requester)).findFirst();
    }
}
