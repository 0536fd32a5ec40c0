package io.memgov.spi.cluster;

import io.memgov.spi.annotation.Experimental;

import java.util.List;
import java.util.Optional;

/**
 * Carries node snapshots to the coordinator and commands back: the seam between the nodes of a memgov cluster. The
 * embedded transport (the default, {@code cluster.transport.policy=embedded}) connects the nodes of one engine in one
 * JVM; a multi-process transport (memgov's on Hazelcast, or a host's own over its RPC) connects engines in several
 * processes, each hosting its own nodes. A transport moves only {@link NodeSnapshot}s, {@link ClusterCommand}s and the
 * {@link CoordinatorState}, all immutable records with a documented, versioned JSON form, so it needs no engine code.
 *
 * <p><b>Lifecycle.</b> The engine calls {@link #start} once, after its nodes exist and before anything else, and
 * {@link #close} once when it closes. In between, every {@code memory.cluster.poll-interval} (and whenever a host runs
 * a round) the engine calls {@link #publish} with its own nodes' snapshots and, if {@link #isCoordinator()}, reads
 * {@link #clusterSnapshots()}, runs the cluster loop on them and {@link #send}s its decisions.
 *
 * <p><b>Threads.</b> {@link #publish}, {@link #clusterSnapshots}, {@link #send} and the coordinator-state calls come
 * from one engine thread at a time (the loop's); {@link #isCoordinator} from any thread. None may block for long: the
 * engine bounds each call and logs one that overruns. Commands arriving from the coordinator are handed to
 * {@link ClusterTransportContext#apply} on any thread.
 *
 * @since 1.0
 */
@Experimental
public interface ClusterTransport
        extends AutoCloseable
{
    /** Starts the transport: joins the cluster, subscribes to commands. */
    void start(ClusterTransportContext context);

    /**
     * Publishes the latest snapshot of each of this process's nodes. A transport keeps only the newest snapshot of
     * each node (by {@link NodeSnapshot#sequence()}).
     */
    void publish(List<NodeSnapshot> localNodes);

    /** Whether this process holds the coordinator role now; exactly one live process of a cluster should. */
    boolean isCoordinator();

    /**
     * The newest snapshot of every live node, this process's included, in a stable order. Nodes whose process left the
     * cluster are not listed (and were reported through {@link ClusterTransportContext#nodesLost}). Called by the
     * cluster loop while this process is the coordinator.
     */
    List<NodeSnapshot> clusterSnapshots();

    /**
     * Delivers a command to the nodes it concerns (a kill goes to every node, since any may run the query). May return
     * before the nodes applied it; delivery may repeat, which commands tolerate.
     */
    void send(ClusterCommand command);

    /**
     * Keeps the coordinator's state where the next coordinator finds it. Called by the loop after every round that
     * changed it. The embedded transport keeps it in memory.
     */
    void saveCoordinatorState(CoordinatorState state);

    /** The state the last coordinator saved, if any; read when this process takes the coordinator role. */
    Optional<CoordinatorState> loadCoordinatorState();

    /** Leaves the cluster. Idempotent. */
    @Override
    void close();
}
