package io.memgov.engine;

import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.query.NodeId;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static java.util.Objects.requireNonNull;

/** What the engine hands its cluster transport: its nodes, the poll interval, and the way to apply commands. */
record TransportContext(List<NodeId> localNodes, Duration pollInterval, QueryFailures commands, Clock clock, PolicyScheduler scheduler, MetricsSink metrics)
        implements ClusterTransportContext
{
    TransportContext
    {
        localNodes = List.copyOf(requireNonNull(localNodes, "localNodes is null"));
        requireNonNull(pollInterval, "pollInterval is null");
        requireNonNull(commands, "commands is null");
        requireNonNull(clock, "clock is null");
        requireNonNull(scheduler, "scheduler is null");
        requireNonNull(metrics, "metrics is null");
    }

    @Override
    public void apply(ClusterCommand command)
    {
        commands.apply(command);
    }
}
