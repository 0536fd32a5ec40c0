package io.memgov.lab;

import io.memgov.engine.ArbitrationSnapshot;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * What one run of a workload did; written by {@code run --json} as is.
 *
 * @param label the run's name: the workload's, or {@code KEY=VALUE} in a comparison ({@code KEY=VALUE seed=S} when repeated)
 * @param seed the workload's seed the run used
 * @param nodes node ids, in order
 * @param poolBytes each node's pool maximum
 * @param queries one entry per query, in id order
 * @param totals counts and leftovers
 * @param arbitration what the nodes' arbitration did, read at the end of the run
 * @param timeline pool use sampled while the run lasted
 * @param kills every kill decision, in order
 */
record RunResult(String label, long seed, List<String> nodes, long poolBytes, List<QueryResult> queries, Totals totals,
        Arbitration arbitration, List<Sample> timeline, List<Kill> kills)
{
    RunResult
    {
        requireNonNull(label, "label is null");
        nodes = List.copyOf(nodes);
        queries = List.copyOf(queries);
        requireNonNull(totals, "totals is null");
        requireNonNull(arbitration, "arbitration is null");
        timeline = List.copyOf(timeline);
        kills = List.copyOf(kills);
    }

    enum Status { FINISHED, KILLED, FAILED }

    /**
     * @param errorCode memgov's error code name, empty when finished
     * @param peakBytes the most the query held at once, summed over nodes
     * @param cpuNanos CPU time of the query's task threads
     * @param verified the result matched the independently computed answer (false unless finished)
     */
    record QueryResult(String id, String user, String operator, Status status, String errorCode, String message,
            long peakBytes, long spilledBytes, long cpuNanos, long startMillis, long endMillis, boolean verified) {}

    /**
     * @param wrongResults finished queries whose result did not match
     * @param jvmOutOfMemoryErrors queries a JVM {@code OutOfMemoryError} failed, plus the lab's own threads that met one
     * @param internalErrors queries the lab itself failed to run (a lab bug, not memory governance)
     * @param wastedCpuNanos CPU time of the queries that were killed or failed: work thrown away
     * @param peakPoolBytes the most any one node's pool held (user + revocable) in a sample
     * @param reservedBytesAfterRun user + revocable bytes still reserved on every node after the run; must be zero
     * @param spillFilesLeft spill files still on disk after the run; must be zero
     */
    record Totals(int queries, int finished, int killed, int failed, int wrongResults, int jvmOutOfMemoryErrors,
            int internalErrors, long wastedCpuNanos, long peakPoolBytes, long spilledBytes, long reservedBytesAfterRun, int spillFilesLeft,
            long wallMillis)
    {
        /** Exit code 1's conditions: a wrong result, memory or spill files left behind, a JVM out of memory, an internal error. */
        boolean clean()
        {
            return wrongResults == 0 && reservedBytesAfterRun == 0 && spillFilesLeft == 0 && jvmOutOfMemoryErrors == 0 && internalErrors == 0;
        }
    }

    /**
     * The engine's {@link ArbitrationSnapshot} at the end of the run (one engine per run, so the run's own figures),
     * times in nanoseconds. With arbitrator {@code none} only the blocked reservations and their reliefs are counted.
     *
     * @param blockedReservations reservations that left their pool without room
     * @param arbitrations plans asked of the arbitrator
     * @param kills kill steps that failed a query; two nodes' steps may kill the same query at once, and each counts
     * @param failures requesters the fail steps failed
     * @param reliefs blocked reservations whose pool made room again, by whatever means
     * @param reliefP50Nanos median time from a blocked reservation to its relief (over the engine's last 4096); 0 before any
     */
    record Arbitration(String arbitrator, long blockedReservations, long arbitrations, long reclaimedBytes, long revokeRequests,
            long revokeRequestedBytes, long pauses, long kills, long killedBytes, long failures, long reliefs,
            long reliefP50Nanos, long reliefP99Nanos, long reliefMaxNanos)
    {
        Arbitration
        {
            requireNonNull(arbitrator, "arbitrator is null");
        }

        static Arbitration of(ArbitrationSnapshot snapshot)
        {
            return new Arbitration(snapshot.arbitrator(), snapshot.blockedReservations(), snapshot.arbitrations(), snapshot.reclaimedBytes(),
                    snapshot.revokeRequests(), snapshot.revokeRequestedBytes(), snapshot.pauses(), snapshot.kills(), snapshot.killedBytes(),
                    snapshot.failures(), snapshot.reliefs(), snapshot.reliefP50().toNanos(), snapshot.reliefP99().toNanos(),
                    snapshot.reliefMax().toNanos());
        }
    }

    /** Pool use of every node at one moment; {@code reservedBytes[i]} includes revocable bytes. */
    record Sample(long millis, long[] reservedBytes, long[] revocableBytes) {}

    /** @param tasks the tasks killed, empty when the whole query was */
    record Kill(long millis, String queryId, List<String> tasks, String errorCode) {}
}
