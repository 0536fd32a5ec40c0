package io.memgov.spi.leak;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.util.Map;
import java.util.Set;

/**
 * Flags reservations held by queries that are gone, so that they stop blocking the low-memory killer: the cluster
 * loop treats a leaked kill target as gone.
 *
 * <p><b>Threads.</b> {@link #checkForLeaks} is called by the cluster loop, one call at a time, at the start of every
 * round. The other methods may be called from any thread (JMX, snapshots) and must be thread-safe.
 *
 * @since 1.0
 */
public interface MemoryLeakDetector
{
    /** Flags nothing: the built-in {@code none} policy, and a stand-in for hosts and tests that want no leak checks. */
    MemoryLeakDetector NONE = new MemoryLeakDetector()
    {
        @Override
        public Set<QueryId> checkForLeaks(Map<QueryId, KnownQuery> knownQueries, Map<QueryId, Long> queryReservations)
        {
            return Set.of();
        }

        @Override
        public boolean wasQueryPossiblyLeaked(QueryId queryId)
        {
            return false;
        }

        @Override
        public int numberOfLeakedQueries()
        {
            return 0;
        }

        @Override
        public long leakedBytes()
        {
            return 0;
        }

        @Override
        public String toString()
        {
            return "none";
        }
    };

    /**
     * Runs one check and replaces the previous result.
     *
     * @param knownQueries every query the host knows, running or recently ended, by id; never null
     * @param queryReservations bytes (user plus revocable) each query holds over all nodes, zero entries omitted;
     *        never null
     * @return the queries judged leaked by this check; never null
     */
    Set<QueryId> checkForLeaks(Map<QueryId, KnownQuery> knownQueries, Map<QueryId, Long> queryReservations);

    /** True if the last check flagged the query. */
    boolean wasQueryPossiblyLeaked(QueryId queryId);

    /** How many queries the last check flagged. */
    int numberOfLeakedQueries();

    /** Bytes held by the queries the last check flagged. */
    long leakedBytes();

    /**
     * Told that a memory context was garbage-collected without being closed; the engine has already released what it
     * held. Called from the engine's cleaner thread.
     *
     * <p>Contexts collected together (a query with its tasks and operators, a task with its operators) are reported
     * by whichever of them is released first for what it and the contexts below it still held, and those contexts are
     * not reported again: each byte is reported once. A query-level report ({@code taskId} and {@code tag} null) means
     * the host dropped the query's own context, on one node, without closing it; its {@code bytes} may be 0, e.g. for a
     * query that was killed (which released its memory) but never closed.
     *
     * @param taskId the task of the context, or null for a query-level context
     * @param tag the operator tag, or null for a task or query context
     * @param bytes what the context still held when it was collected, not counting what contexts below it reported
     *        themselves
     */
    default void contextCollected(QueryId queryId, TaskId taskId, String tag, long bytes) {}
}
