package io.memgov.spi.cluster;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.query.QueryId;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * Which pool each query runs in, cluster-wide, as one numbered version. The cluster loop sends every new version to
 * every node; a node applies a version only if it is newer than the one it applied last, so a late or repeated
 * delivery never undoes a newer one. A query that is not listed runs in its node's general pool (the first of the
 * layout).
 *
 * @param version non-negative; {@code 0} is the initial assignment, which places nothing
 * @param placements pool id by query, for queries that do not run in the general pool; never null
 * @since 1.0
 */
@Experimental
public record MemoryPoolAssignment(long version, Map<QueryId, String> placements)
{
    public MemoryPoolAssignment
    {
        if (version < 0) {
            throw new IllegalArgumentException("version is negative: " + version);
        }
        placements = Map.copyOf(requireNonNull(placements, "placements is null"));
    }

    /** Version 0: every query in the general pool. */
    public static MemoryPoolAssignment initial()
    {
        return new MemoryPoolAssignment(0, Map.of());
    }

    /** The pool the query is placed in, or {@code generalPoolId} when it is not listed. */
    public String poolOf(QueryId queryId, String generalPoolId)
    {
        return placements.getOrDefault(requireNonNull(queryId, "queryId is null"), generalPoolId);
    }

    /** The number of queries placed in the pool. */
    public long assignedQueries(String poolId)
    {
        requireNonNull(poolId, "poolId is null");
        return placements.values().stream().filter(poolId::equals).count();
    }
}
