package io.memgov.engine;

import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.arbitration.MemoryArbitratorContext;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.tracker.MemoryTrackerContext;

import java.time.Clock;
import java.util.OptionalLong;

import static java.util.Objects.requireNonNull;

/**
 * What the engine hands node-level policies. Failing a query goes through the engine, so that the query is failed on
 * every node and the host is told, whichever node's policy decided it.
 */
final class NodeContext
        implements MemoryPoolContext, MemoryTrackerContext, SpillStrategyContext, MemoryArbitratorContext
{
    private final NodeId nodeId;
    private final long heapBytes;
    private final long poolBytes;
    private final Clock clock;
    private final PolicyScheduler scheduler;
    private final MetricsSink metrics;
    private final QueryFailer queryFailer;
    private final OptionalLong maxQueryTotalMemoryPerNodeBytes;

    NodeContext(NodeId nodeId, long heapBytes, long poolBytes, Clock clock, PolicyScheduler scheduler, MetricsSink metrics, QueryFailer queryFailer)
    {
        this(nodeId, heapBytes, poolBytes, clock, scheduler, metrics, queryFailer, OptionalLong.empty());
    }

    NodeContext(NodeId nodeId, long heapBytes, long poolBytes, Clock clock, PolicyScheduler scheduler, MetricsSink metrics, QueryFailer queryFailer,
            OptionalLong maxQueryTotalMemoryPerNodeBytes)
    {
        this.maxQueryTotalMemoryPerNodeBytes = requireNonNull(maxQueryTotalMemoryPerNodeBytes, "maxQueryTotalMemoryPerNodeBytes is null");
        this.queryFailer = requireNonNull(queryFailer, "queryFailer is null");
        this.nodeId = requireNonNull(nodeId, "nodeId is null");
        this.heapBytes = heapBytes;
        this.poolBytes = poolBytes;
        this.clock = requireNonNull(clock, "clock is null");
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    @Override
    public NodeId nodeId()
    {
        return nodeId;
    }

    @Override
    public long heapBytes()
    {
        return heapBytes;
    }

    @Override
    public long poolBytes()
    {
        return poolBytes;
    }

    @Override
    public Clock clock()
    {
        return clock;
    }

    @Override
    public PolicyScheduler scheduler()
    {
        return scheduler;
    }

    @Override
    public MetricsSink metrics()
    {
        return metrics;
    }

    @Override
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        return queryFailer.fail(queryId, errorCode, message);
    }

    @Override
    public OptionalLong maxQueryTotalMemoryPerNodeBytes()
    {
        return maxQueryTotalMemoryPerNodeBytes;
    }

    @Override
    public ResizableMemoryPool createStandardPool(String poolId, long maxBytes)
    {
        return new FixedMemoryPool(poolId, maxBytes);
    }
}
