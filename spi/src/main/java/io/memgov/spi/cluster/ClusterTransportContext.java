package io.memgov.spi.cluster;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.query.NodeId;

import java.time.Duration;
import java.util.List;

/**
 * What the engine offers its cluster transport: which nodes this process hosts and how to apply a command to them. A
 * node that leaves the cluster needs no report: the transport stops listing it in
 * {@link ClusterTransport#clusterSnapshots()}, and the coordinator fails the queries it ran with
 * {@link io.memgov.spi.query.ErrorCode#NODE_LOST}.
 *
 * @since 1.0
 */
@Experimental
public interface ClusterTransportContext
        extends PolicyContext
{
    /** The nodes this process hosts, in order; never empty. */
    List<NodeId> localNodes();

    /** {@code memory.cluster.poll-interval}: how often the engine publishes and the coordinator runs the loop. */
    Duration pollInterval();

    /**
     * Applies a command the coordinator sent to this process's nodes. Thread-safe; returns once applied. Applying a
     * command twice changes nothing the second time.
     */
    void apply(ClusterCommand command);

}
