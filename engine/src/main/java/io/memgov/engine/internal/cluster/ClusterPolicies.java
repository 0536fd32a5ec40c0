package io.memgov.engine.internal.cluster;

import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;

import static java.util.Objects.requireNonNull;

/** The policies the cluster loop consults, with the names its log lines give them. */
public record ClusterPolicies(
        LowMemoryKiller taskKiller,
        String taskKillerName,
        LowMemoryKiller queryKiller,
        String queryKillerName,
        MemoryLeakDetector leakDetector,
        String leakDetectorName,
        MemoryPoolAssigner assigner,
        String assignerName)
{
    public ClusterPolicies
    {
        requireNonNull(taskKiller, "taskKiller is null");
        requireNonNull(taskKillerName, "taskKillerName is null");
        requireNonNull(queryKiller, "queryKiller is null");
        requireNonNull(queryKillerName, "queryKillerName is null");
        requireNonNull(leakDetector, "leakDetector is null");
        requireNonNull(leakDetectorName, "leakDetectorName is null");
        requireNonNull(assigner, "assigner is null");
        requireNonNull(assignerName, "assignerName is null");
    }

    /** The built-in defaults' shape for tests and benchmarks: these killers, no leak detector, no pool assignment. */
    public static ClusterPolicies killers(LowMemoryKiller taskKiller, LowMemoryKiller queryKiller)
    {
        return new ClusterPolicies(taskKiller, String.valueOf(taskKiller), queryKiller, String.valueOf(queryKiller), MemoryLeakDetector.NONE, "none",
                MemoryPoolAssigner.NONE, "none");
    }
}
