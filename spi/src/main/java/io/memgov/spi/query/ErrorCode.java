package io.memgov.spi.query;

import java.util.OptionalLong;

/**
 * Why memgov failed a query. Names are stable and safe to match on; {@link #anchorCode()} is the number the
 * engine memgov copied the behaviour from uses for the same condition, where it has one.
 *
 * @since 1.0
 */
public enum ErrorCode
{
    /** A query went over its per-node memory limit (Trino 131079). */
    EXCEEDED_LOCAL_MEMORY_LIMIT(131079L, "Trino"),
    /** A query went over {@code query.max-memory} or {@code query.max-total-memory} across the cluster (Trino 131073). */
    EXCEEDED_GLOBAL_MEMORY_LIMIT(131073L, "Trino"),
    /** A low-memory killer chose this query or task because the cluster ran out of memory (Trino 131076). */
    CLUSTER_OUT_OF_MEMORY(131076L, "Trino"),
    /** A query went over a spill limit or had no disk to spill to (Trino 131078). */
    EXCEEDED_SPILL_LIMIT(131078L, "Trino"),
    /** A query's revocable memory on one node passed {@code query.max-revocable-memory-per-node} (Presto's limit). */
    EXCEEDED_REVOCABLE_MEMORY_LIMIT(null, "Presto"),
    /**
     * A query's broadcast memory on one node (the replicated build side of a join, which every node holds in full)
     * passed {@code query.max-broadcast-memory} (Presto 131084, {@code EXCEEDED_LOCAL_BROADCAST_JOIN_MEMORY_LIMIT}).
     */
    EXCEEDED_LOCAL_BROADCAST_JOIN_MEMORY_LIMIT(131084L, "Presto"),
    /** A query went over its per-query cap in reserve mode (TDengine 0x80000739). */
    QUERY_MEMORY_UPPER_LIMIT(0x80000739L, "TDengine"),
    /** Available memory fell to the reserve, so the query was retired (TDengine 0x8000073A). */
    QUERY_MEMORY_EXHAUSTED(0x8000073AL, "TDengine"),
    /** A tracker's hard limit was exceeded (ClickHouse 241). */
    MEMORY_LIMIT_EXCEEDED(241L, "ClickHouse"),
    /** The overcommit tracker chose this query as the victim to free memory for another one. */
    KILLED_BY_OVERCOMMIT(null, "ClickHouse"),
    /**
     * A node the query ran on left the cluster (its process died or was cut off), so the query cannot finish; Trino
     * fails such queries with {@code REMOTE_HOST_GONE}.
     */
    NODE_LOST(null, "memgov"),
    /**
     * The JVM was under GC pressure (GC took most of the time, or full collections left the heap nearly full) and
     * revoking did not relieve it, so the query holding the most memory on the node was failed (Presto's
     * {@code HighMemoryTaskKiller} uses a code of this name).
     */
    EXCEEDED_HEAP_MEMORY_LIMIT(null, "Presto"),
    /**
     * The node's memory arbitrator failed or killed the query to make room for a reservation its pool could not grant
     * (Velox's arbitrator fails such queries with "Local arbitration failure" or aborts the largest); the message names
     * the arbitrator, the requester, the bytes it asked for and what each step of the plan freed.
     */
    MEMORY_ARBITRATION_FAILED(null, "Velox"),
    /**
     * A query's direct (off-heap) memory on one node passed {@code query.max-direct-memory-per-node}: the per-node limit
     * of the node's direct pool, kept apart from the heap's {@link #EXCEEDED_LOCAL_MEMORY_LIMIT} as Spark keeps
     * off-heap execution memory apart from on-heap.
     *
     * @since 1.1
     */
    EXCEEDED_LOCAL_DIRECT_MEMORY_LIMIT(null, "memgov"),
    /** Memory governance failed the query for a reason not listed above. */
    GENERIC_MEMORY_ERROR(null, "memgov");

    private final Long anchorCode;
    private final String anchor;

    ErrorCode(Long anchorCode, String anchor)
    {
        this.anchorCode = anchorCode;
        this.anchor = anchor;
    }

    /** The anchor engine's numeric code for this condition, or empty when it has none. */
    public OptionalLong anchorCode()
    {
        return anchorCode == null ? OptionalLong.empty() : OptionalLong.of(anchorCode);
    }

    /** The engine whose behaviour this code follows: {@code Trino}, {@code Presto}, {@code TDengine}, {@code ClickHouse} or {@code memgov}. */
    public String anchor()
    {
        return anchor;
    }
}
