package io.memgov.engine;

import static java.util.Objects.requireNonNull;

/**
 * One running query as the cluster loop's last round saw it, summed over the nodes that run it: what it holds, the
 * distributed limits in force for it, and Presto's cumulative memory statistics (for resource accounting). Immutable.
 *
 * @param queryId the query's id; never null
 * @param userBytes user bytes over every node (what {@code query.max-memory} limits)
 * @param totalBytes user, system and revocable bytes over every pool of every node (what {@code query.max-total-memory}
 *        limits)
 * @param maxMemoryBytes the distributed user limit in force: the lower of {@code query.max-memory} and the session's
 *        {@code query_max_memory}, as Presto's {@code ClusterMemoryManager} takes it; the kill message names this value
 * @param maxMemorySource where that limit comes from, in Presto's names: {@code SYSTEM} (the configuration) or
 *        {@code QUERY} (the session, when it is lower)
 * @param maxTotalMemoryBytes the distributed total limit in force: the lower of {@code query.max-total-memory} and the
 *        session's {@code query_max_total_memory}
 * @param maxTotalMemorySource {@code SYSTEM} or {@code QUERY}, as for {@code maxMemorySource}
 * @param limitsEnforced false when the loop does not apply the distributed limits to the query: it runs with
 *        {@code resource_overcommit} or {@code retry_policy=TASK}
 * @param cumulativeUserMemoryByteSeconds Presto's cumulative user memory: the query's user bytes integrated over time,
 *        summed over its nodes' last samples, in byte-seconds (see {@link QueryMemoryContext#cumulativeUserMemoryByteSeconds()})
 * @param cumulativeTotalMemoryByteSeconds the same for user plus system bytes (Presto's cumulative total memory)
 */
public record ClusterQueryMemory(
        String queryId,
        long userBytes,
        long totalBytes,
        long maxMemoryBytes,
        String maxMemorySource,
        long maxTotalMemoryBytes,
        String maxTotalMemorySource,
        boolean limitsEnforced,
        double cumulativeUserMemoryByteSeconds,
        double cumulativeTotalMemoryByteSeconds)
{
    /** Presto's {@code QueryLimit.Source} of a limit set by the configuration. */
    public static final String SYSTEM = "SYSTEM";
    /** Presto's {@code QueryLimit.Source} of a limit set by the query's session. */
    public static final String QUERY = "QUERY";

    public ClusterQueryMemory
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(maxMemorySource, "maxMemorySource is null");
        requireNonNull(maxTotalMemorySource, "maxTotalMemorySource is null");
    }
}
