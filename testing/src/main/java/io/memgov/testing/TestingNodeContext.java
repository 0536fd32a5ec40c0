package io.memgov.testing;

import io.memgov.engine.StandardMemoryPools;
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
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * What the engine hands a node-level policy (pool, tracker, spill strategy), for tests. {@link #createStandardPool}
 * returns the engine's own standard pool, so a policy that decorates it is tested against the real thing;
 * {@link #failQuery} records the call (see {@link #failedQueries()}) and fails each query once, as the engine does.
 *
 * <pre>{@code
 * TestingNodeContext context = TestingNodeContext.builder().poolBytes(64 * MB).build();
 * MemoryPoolLayout layout = new MyPoolFactory().create(PolicyConfig.empty(), context);
 * }</pre>
 *
 * Thread-safe.
 *
 * @since 1.0
 */
public final class TestingNodeContext
        implements MemoryPoolContext, MemoryTrackerContext, SpillStrategyContext
{
    private final NodeId nodeId;
    private final long heapBytes;
    private final long poolBytes;
    private final OptionalLong maxQueryTotalMemoryPerNodeBytes;
    private final TestingScheduler scheduler;
    private final TestingMetrics metrics = new TestingMetrics();
    private final Set<QueryId> failed = ConcurrentHashMap.newKeySet();
    private final List<FailedQuery> failedQueries = new ArrayList<>();

    private TestingNodeContext(Builder builder)
    {
        this.nodeId = builder.nodeId;
        this.heapBytes = builder.heapBytes;
        this.poolBytes = builder.poolBytes;
        this.maxQueryTotalMemoryPerNodeBytes = builder.maxQueryTotalMemoryPerNodeBytes;
        this.scheduler = builder.scheduler;
    }

    /** A node {@code node-0} with a 1 GB heap and a 700 MB pool (30% headroom). */
    public static TestingNodeContext create()
    {
        return builder().build();
    }

    public static Builder builder()
    {
        return new Builder();
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
    public OptionalLong maxQueryTotalMemoryPerNodeBytes()
    {
        return maxQueryTotalMemoryPerNodeBytes;
    }

    @Override
    public Clock clock()
    {
        return scheduler.clock();
    }

    public TestingClock testingClock()
    {
        return scheduler.clock();
    }

    @Override
    public PolicyScheduler scheduler()
    {
        return scheduler;
    }

    public TestingScheduler testingScheduler()
    {
        return scheduler;
    }

    @Override
    public MetricsSink metrics()
    {
        return metrics;
    }

    public TestingMetrics testingMetrics()
    {
        return metrics;
    }

    @Override
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(errorCode, "errorCode is null");
        requireNonNull(message, "message is null");
        boolean first = failed.add(queryId);
        if (first) {
            synchronized (failedQueries) {
                failedQueries.add(new FailedQuery(queryId, errorCode, message));
            }
        }
        return first;
    }

    /** Every query the policy failed, in order, each once. */
    public List<FailedQuery> failedQueries()
    {
        synchronized (failedQueries) {
            return List.copyOf(failedQueries);
        }
    }

    @Override
    public ResizableMemoryPool createStandardPool(String poolId, long maxBytes)
    {
        return StandardMemoryPools.create(poolId, maxBytes);
    }

    /** A {@link #failQuery} call. */
    public record FailedQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        public FailedQuery
        {
            requireNonNull(queryId, "queryId is null");
            requireNonNull(errorCode, "errorCode is null");
            requireNonNull(message, "message is null");
        }
    }

    /** Builds a {@link TestingNodeContext}. Not thread-safe. */
    public static final class Builder
    {
        private NodeId nodeId = NodeId.of("node-0");
        private long heapBytes = 1L << 30;
        private long poolBytes = (long) ((1L << 30) * 0.7);
        private OptionalLong maxQueryTotalMemoryPerNodeBytes = OptionalLong.empty();
        private TestingScheduler scheduler;

        private Builder() {}

        public Builder nodeId(String nodeId)
        {
            this.nodeId = NodeId.of(nodeId);
            return this;
        }

        public Builder heapBytes(long heapBytes)
        {
            this.heapBytes = heapBytes;
            return this;
        }

        public Builder poolBytes(long poolBytes)
        {
            this.poolBytes = poolBytes;
            return this;
        }

        public Builder maxQueryTotalMemoryPerNodeBytes(long bytes)
        {
            this.maxQueryTotalMemoryPerNodeBytes = OptionalLong.of(bytes);
            return this;
        }

        public Builder scheduler(TestingScheduler scheduler)
        {
            this.scheduler = requireNonNull(scheduler, "scheduler is null");
            return this;
        }

        public TestingNodeContext build()
        {
            if (heapBytes <= 0 || poolBytes <= 0 || poolBytes > heapBytes) {
                throw new IllegalArgumentException("expected 0 < poolBytes <= heapBytes: pool " + poolBytes + ", heap " + heapBytes);
            }
            if (scheduler == null) {
                scheduler = new TestingScheduler(new TestingClock());
            }
            return new TestingNodeContext(this);
        }
    }
}
