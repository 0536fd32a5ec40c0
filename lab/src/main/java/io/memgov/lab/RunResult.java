package io.memgov.lab;

import io.memgov.engine.ArbitrationSnapshot;
import io.memgov.engine.MemoryEngine;
import io.memgov.spi.PolicyFamily;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * @param heap the real heap during the run (for {@code run --processes}, the worker JVMs' figures summed)
 * @param heapTimeline the engine's heap figures sampled with {@code timeline}; empty for {@code run --processes}
 * @param processes one entry per worker JVM, in node order, for {@code run --processes}; empty for an embedded run
 * @param settings every property and policy in force, and where each property came from
 */
record RunResult(String label, long seed, List<String> nodes, long poolBytes, List<QueryResult> queries, Totals totals,
        Arbitration arbitration, List<Sample> timeline, List<Kill> kills, Heap heap, List<HeapSample> heapTimeline, List<WorkerFigures> processes,
        Settings settings)
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
        requireNonNull(heap, "heap is null");
        heapTimeline = List.copyOf(heapTimeline);
        processes = List.copyOf(processes);
        requireNonNull(settings, "settings is null");
    }

    /** The same run with {@code settings}: for {@code --processes}, whose engines the lab reads in a checking engine of its own. */
    RunResult withSettings(Settings settings)
    {
        return new RunResult(label, seed, nodes, poolBytes, queries, totals, arbitration, timeline, kills, heap, heapTimeline, processes, settings);
    }

    /**
     * What the run was configured with.
     *
     * @param properties every engine and lab property in force, by key; the engine's defaults for keys not listed
     * @param sources which layer set each property: {@code default}, a {@code --config} file, {@code workload NAME}, {@code --set}
     * @param policies the policy selected in each family, by the family's key ({@code query.low-memory-killer.policy})
     * @param queryMaxMemoryPerNodeBytes a query's user memory limit on one node ({@code query.max-memory-per-node})
     * @param queryMaxMemoryBytes a query's user memory limit over the cluster ({@code query.max-memory})
     */
    record Settings(Map<String, String> properties, Map<String, String> sources, Map<String, String> policies, long queryMaxMemoryPerNodeBytes,
            long queryMaxMemoryBytes)
    {
        static final Settings UNKNOWN = new Settings(Map.of(), Map.of(), Map.of(), 0, 0);

        Settings
        {
            properties = Map.copyOf(properties);
            sources = Map.copyOf(sources);
            policies = Map.copyOf(policies);
        }

        static Settings of(MemoryEngine engine, LabConfig.Resolved resolved)
        {
            Map<String, String> policies = new LinkedHashMap<>();
            for (PolicyFamily<?, ?, ?> family : engine.plugins().families()) {
                policies.put(family.policyKey(), engine.policyName(family));
            }
            return new Settings(resolved.properties(), resolved.sources(), policies, engine.config().maxQueryMemoryPerNode(),
                    engine.config().maxQueryMemory());
        }

        /** The selected policy of {@code family}, or {@code ?} when not read. */
        String policy(PolicyFamily<?, ?, ?> family)
        {
            return policies.getOrDefault(family.policyKey(), "?");
        }
    }

    enum Status { FINISHED, KILLED, FAILED }

    /**
     * @param errorCode memgov's error code name, empty when finished
     * @param peakBytes the most the query held at once, summed over nodes
     * @param cpuNanos CPU time of the query's task threads
     * @param verified the result matched the independently computed answer (false unless finished)
     * @param cumulativeUserMemoryByteSeconds Presto's cumulative user memory: the query's user bytes integrated over
     *        its run, summed over nodes, in byte-seconds ({@code QueryMemoryContext.cumulativeUserMemoryByteSeconds})
     * @param cumulativeTotalMemoryByteSeconds the same for user plus system bytes (Presto's cumulative total memory)
     */
    record QueryResult(String id, String user, String operator, Status status, String errorCode, String message,
            long peakBytes, long spilledBytes, long cpuNanos, long startMillis, long endMillis, boolean verified,
            double cumulativeUserMemoryByteSeconds, double cumulativeTotalMemoryByteSeconds) {}

    /**
     * @param wrongResults finished queries whose result did not match
     * @param jvmOutOfMemoryErrors {@code OutOfMemoryError}s during the run: the JVM's own count of those it threw on any
     * thread ({@link JvmOutOfMemoryErrors}), and at least the queries one failed plus the lab's own threads that met one
     * @param internalErrors queries the lab itself failed to run (a lab bug, not memory governance)
     * @param wastedCpuNanos CPU time of the queries that were killed or failed: work thrown away
     * @param peakPoolBytes the most any one node's pool held (user + revocable) in a sample
     * @param reservedBytesAfterRun user + revocable bytes still reserved on every node after the run; must be zero
     * @param spillFilesLeft spill files still on disk after the run; must be zero
     * @param workersLost worker JVMs of {@code run --processes} that ended during the run without {@code --chaos} killing
     *        them; must be zero
     */
    record Totals(int queries, int finished, int killed, int failed, int wrongResults, int jvmOutOfMemoryErrors,
            int internalErrors, long wastedCpuNanos, long peakPoolBytes, long spilledBytes, long reservedBytesAfterRun, int spillFilesLeft,
            long wallMillis, int workersLost)
    {
        /**
         * Exit code 1's conditions: a wrong result, memory or spill files left behind, a JVM out of memory, an internal
         * error, a worker JVM lost.
         */
        boolean clean()
        {
            return wrongResults == 0 && reservedBytesAfterRun == 0 && spillFilesLeft == 0 && jvmOutOfMemoryErrors == 0 && internalErrors == 0
                    && workersLost == 0;
        }
    }

    /**
     * One worker JVM of {@code run --processes}, as it reported itself (a worker that did not run to the end has only
     * the figures of its last sample).
     *
     * @param maxHeapBytes its {@code -Xmx}: the node's heap
     * @param peakHeapBytes the most heap in use in a sample (every 100ms), garbage included
     * @param peakUntrackedBytes the most live heap memgov did not account, after a collection
     * @param jvmOutOfMemoryErrors {@code OutOfMemoryError}s the worker met, in tasks or not
     * @param end how it ended: {@code ran to the end}, {@code killed by --chaos kill-node:1@8s at 8.0s}, {@code died at
     *        3.2s (exit code 1)}
     */
    record WorkerFigures(String node, long pid, long maxHeapBytes, long peakHeapBytes, long peakUntrackedBytes, long youngCollections,
            long fullCollections, long gcMillis, int jvmOutOfMemoryErrors, String end) {}

    /**
     * The engine's {@link ArbitrationSnapshot} at the end of the run (one engine per run, so the run's own figures),
     * times in nanoseconds. With arbitrator {@code none} only the blocked reservations and their reliefs are counted.
     *
     * @param blockedReservations reservations that left their pool without room
     * @param arbitrations plans asked of the arbitrator
     * @param kills kill steps that failed a query (a query two nodes' steps kill at once counts once)
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

        /** For {@code run --processes}: the engines run in the workers, whose arbitration the lab does not read. */
        static Arbitration notRead()
        {
            return new Arbitration("not read", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }

        static Arbitration of(ArbitrationSnapshot snapshot)
        {
            return new Arbitration(snapshot.arbitrator(), snapshot.blockedReservations(), snapshot.arbitrations(), snapshot.reclaimedBytes(),
                    snapshot.revokeRequests(), snapshot.revokeRequestedBytes(), snapshot.pauses(), snapshot.kills(), snapshot.killedBytes(),
                    snapshot.failures(), snapshot.reliefs(), snapshot.reliefP50().toNanos(), snapshot.reliefP99().toNanos(),
                    snapshot.reliefMax().toNanos());
        }
    }

    /**
     * Pool use of every node at one moment; {@code reservedBytes[i]} includes revocable bytes.
     *
     * @param spilledBytes bytes each node's spill files ever received, by then (only grows); zeros when not read
     * @param arbitrations plans the cluster's arbitration made by then (only grows); 0 when not read
     */
    record Sample(long millis, long[] reservedBytes, long[] revocableBytes, long[] spilledBytes, long arbitrations)
    {
        Sample(long millis, long[] reservedBytes, long[] revocableBytes)
        {
            this(millis, reservedBytes, revocableBytes, new long[reservedBytes.length], 0);
        }
    }

    /** @param tasks the tasks killed, empty when the whole query was */
    record Kill(long millis, String queryId, List<String> tasks, String errorCode) {}

    /**
     * The real heap during the run, from the engine's heap figures ({@code MemoryEngine.heapSnapshot()}, each as of the
     * last garbage collection before a sample): how close the JVM came to its max heap, and how much of it memgov
     * did not track. Sizes in bytes; the peaks are over the samples, so a collection followed by another within one
     * sample interval is not seen.
     *
     * @param governed whether the nodes govern this JVM's heap ({@code node.heap-governed})
     * @param maxHeapBytes the JVM's max heap
     * @param poolBytes the nodes' pools as configured, summed: the heap memgov governs
     * @param peakLiveBytes the most heap in use after a collection
     * @param peakTrackedBytes the most the pools held when a collection was recorded
     * @param peakUntrackedBytes the most heap in use after a collection that memgov did not track
     * @param leastEffectiveMaxBytes the least the nodes' effective pool maxima added up to: the pools less the untracked heap
     * @param youngCollections young collections during the run
     * @param fullCollections full collections during the run
     * @param queriesKilledDueToHeapPressure queries the GC-pressure response failed ({@code EXCEEDED_HEAP_MEMORY_LIMIT})
     * @param outOfMemoryErrorsThrown the JVM's own count of {@code OutOfMemoryError}s thrown during the run, on any thread;
     * -1 when the JVM does not say
     */
    record Heap(boolean governed, long maxHeapBytes, long poolBytes, long peakLiveBytes, long peakTrackedBytes, long peakUntrackedBytes,
            long leastEffectiveMaxBytes, long youngCollections, long fullCollections, long queriesKilledDueToHeapPressure,
            long outOfMemoryErrorsThrown) {}

    /**
     * The engine's heap figures at one moment, each as of the last collection.
     *
     * @param liveBytes heap in use after the last collection
     * @param trackedBytes what the pools held when that collection was recorded
     * @param untrackedBytes {@code liveBytes - trackedBytes}, at least 0
     * @param effectiveMaxBytes the nodes' effective pool maxima, summed
     */
    record HeapSample(long millis, long liveBytes, long trackedBytes, long untrackedBytes, long effectiveMaxBytes) {}
}
