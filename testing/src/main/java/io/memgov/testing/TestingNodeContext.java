package io.memgov.testing;

import io.memgov.engine.StandardMemoryPools;
import io.memgov.spi.arbitration.MemoryArbitratorContext;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.tracker.MemoryTrackerContext;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * What the engine hands a node-level policy (pool, tracker, spill strategy), for tests. {@link #createStandardPool}
 * returns the engine's own standard pool, so a policy that decorates it is tested against the real thing;
 * {@link #failQuery} records every call (see {@link #failQueryCalls()}), fails each query once as the engine does
 * (see {@link #failedQueries()}), and runs the test's {@link #onFailQuery hook} on each first failure, where the
 * engine would release the query's memory.
 *
 * <pre>{@code
 * TestingNodeContext context = TestingNodeContext.builder().poolBytes(64 * MB).build();
 * MemoryPool pool = new MyPoolFactory().create(PolicyConfig.empty(), context).generalPool();
 * context.releaseFailedQueriesFrom(pool);   // a failed query gives its memory back, as on a real node
 * }</pre>
 *
 * <p>By default the clock is a {@link TestingClock} and the scheduler a {@link TestingScheduler} on it, so nothing runs
 * until the test advances the clock; {@link Builder#realTimeScheduler()} gives a policy a scheduler that runs on its
 * own, which {@link #close()} stops.
 *
 * <p>Thread-safe.
 *
 * @since 1.0
 */
public final class TestingNodeContext
        implements MemoryPoolContext, MemoryTrackerContext, SpillStrategyContext, MemoryArbitratorContext, AutoCloseable
{
    private final NodeId nodeId;
    private final long heapBytes;
    private final long poolBytes;
    private final OptionalLong maxQueryTotalMemoryPerNodeBytes;
    private final Clock clock;
    private final PolicyScheduler scheduler;
    private final TestingMetrics metrics = new TestingMetrics();
    private final Set<QueryId> failed = ConcurrentHashMap.newKeySet();
    private final List<FailedQuery> failQueryCalls = new CopyOnWriteArrayList<>();
    private final List<FailedQuery> failedQueries = new CopyOnWriteArrayList<>();
    private final List<ResizableMemoryPool> standardPools = new CopyOnWriteArrayList<>();
    private volatile Consumer<FailedQuery> onFailQuery = failed -> {};

    private TestingNodeContext(Builder builder)
    {
        this.nodeId = builder.nodeId;
        this.heapBytes = builder.heapBytes;
        this.poolBytes = builder.poolBytes;
        this.maxQueryTotalMemoryPerNodeBytes = builder.maxQueryTotalMemoryPerNodeBytes;
        this.clock = builder.clock;
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
        return clock;
    }

    /**
     * The clock, to advance.
     *
     * @throws IllegalStateException if the context was built with a clock that is not a {@link TestingClock}
     */
    public TestingClock testingClock()
    {
        if (clock instanceof TestingClock testing) {
            return testing;
        }
        throw new IllegalStateException("this context's clock is not a TestingClock: " + clock);
    }

    @Override
    public PolicyScheduler scheduler()
    {
        return scheduler;
    }

    /**
     * The scheduler, to run due tasks.
     *
     * @throws IllegalStateException if the context was built with a scheduler that is not a {@link TestingScheduler}
     */
    public TestingScheduler testingScheduler()
    {
        if (scheduler instanceof TestingScheduler testing) {
            return testing;
        }
        throw new IllegalStateException("this context's scheduler is not a TestingScheduler: " + scheduler);
    }

    @Override
    public MetricsSink metrics()
    {
        return metrics;
    }

    /** What the policy published. */
    public TestingMetrics testingMetrics()
    {
        return metrics;
    }

    /**
     * Records the call, and on the query's first failure runs the {@link #onFailQuery hook} on the calling thread.
     *
     * @return true the first time a query is failed, false after that
     */
    @Override
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        FailedQuery call = new FailedQuery(queryId, errorCode, message);
        failQueryCalls.add(call);
        if (!failed.add(queryId)) {
            return false;
        }
        failedQueries.add(call);
        onFailQuery.accept(call);
        return true;
    }

    /**
     * What to do on the first failure of each query, where the engine would release the query's memory and tell the
     * host. Runs on the thread that called {@link #failQuery}, after the failure is recorded. Replaces the previous
     * hook; the default does nothing (a host that releases late).
     *
     * @return this context
     */
    public TestingNodeContext onFailQuery(Consumer<FailedQuery> action)
    {
        this.onFailQuery = requireNonNull(action, "action is null");
        return this;
    }

    /**
     * Makes every first failure release what the query holds in {@code pool} (see {@link #releaseQuery}), as the
     * engine's accounting does. Replaces the previous {@link #onFailQuery hook}.
     *
     * @param pool the pool under test: the one the policy returned, so that a decorator sees the frees
     * @return this context
     */
    public TestingNodeContext releaseFailedQueriesFrom(MemoryPool pool)
    {
        requireNonNull(pool, "pool is null");
        return onFailQuery(failure -> releaseQuery(pool, failure.queryId()));
    }

    /** The first failure of each query, in order. */
    public List<FailedQuery> failedQueries()
    {
        return List.copyOf(failedQueries);
    }

    /** The ids of {@link #failedQueries()}, in order. */
    public List<QueryId> failedQueryIds()
    {
        return failedQueries.stream().map(FailedQuery::queryId).toList();
    }

    /** Every call to {@link #failQuery}, in order, repeated ones included. */
    public List<FailedQuery> failQueryCalls()
    {
        return List.copyOf(failQueryCalls);
    }

    @Override
    public ResizableMemoryPool createStandardPool(String poolId, long maxBytes)
    {
        ResizableMemoryPool pool = StandardMemoryPools.create(poolId, maxBytes);
        standardPools.add(pool);
        return pool;
    }

    /** The pools {@link #createStandardPool} made, in order. */
    public List<ResizableMemoryPool> standardPools()
    {
        return List.copyOf(standardPools);
    }

    /**
     * Frees everything the query holds in {@code pool}, as the engine does when it fails or closes a query: its user
     * memory task by task and tag by tag, then its revocable memory task by task. Bytes another thread frees meanwhile
     * are not freed twice.
     *
     * <p>The pool's snapshot gives user bytes per task and per tag of the query, not per task and tag; the release
     * pairs them off in order, which is exact for pools with the standard pool's bookkeeping (a task's and a tag's
     * counters are checked separately).
     */
    public static void releaseQuery(MemoryPool pool, QueryId queryId)
    {
        requireNonNull(pool, "pool is null");
        requireNonNull(queryId, "queryId is null");
        MemoryPoolInfo info = pool.info();
        List<long[]> tasks = new ArrayList<>();
        List<TaskId> taskIds = new ArrayList<>();
        for (Map.Entry<TaskId, Long> task : info.taskMemoryReservations().entrySet()) {
            if (task.getKey().queryId().equals(queryId)) {
                taskIds.add(task.getKey());
                tasks.add(new long[] {task.getValue()});
            }
        }
        int taskIndex = 0;
        for (MemoryAllocation allocation : info.queryMemoryAllocations().getOrDefault(queryId, List.of())) {
            long tagLeft = allocation.allocationBytes();
            while (tagLeft > 0 && taskIndex < tasks.size()) {
                long[] taskLeft = tasks.get(taskIndex);
                long bytes = Math.min(tagLeft, taskLeft[0]);
                TaskId taskId = taskIds.get(taskIndex);
                freeUnlessFreedMeanwhile(() -> pool.free(taskId, allocation.tag(), bytes));
                tagLeft -= bytes;
                taskLeft[0] -= bytes;
                if (taskLeft[0] == 0) {
                    taskIndex++;
                }
            }
        }
        info.taskRevocableMemoryReservations().forEach((task, bytes) -> {
            if (task.queryId().equals(queryId)) {
                freeUnlessFreedMeanwhile(() -> pool.freeRevocable(task, bytes));
            }
        });
    }

    private static void freeUnlessFreedMeanwhile(Runnable free)
    {
        try {
            free.run();
        }
        catch (IllegalArgumentException e) {
            // an operator thread freed these bytes after the snapshot was taken: the pool refused to free them twice,
            // which is what the engine's release tolerates too
        }
    }

    /** Stops the scheduler if it is a {@link RealTimeScheduler}; idempotent. */
    @Override
    public void close()
    {
        if (scheduler instanceof RealTimeScheduler realTime) {
            realTime.close();
        }
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
        private Clock clock;
        private PolicyScheduler scheduler;

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

        /** The clock; a {@link TestingClock} at {@link TestingClock#START} unless given (or the scheduler's, for a {@link TestingScheduler}). */
        public Builder clock(Clock clock)
        {
            this.clock = requireNonNull(clock, "clock is null");
            return this;
        }

        /** The scheduler; a {@link TestingScheduler} on the clock unless given. A {@link TestingScheduler} brings its clock. */
        public Builder scheduler(PolicyScheduler scheduler)
        {
            this.scheduler = requireNonNull(scheduler, "scheduler is null");
            return this;
        }

        /** A new {@link RealTimeScheduler}, which the context's {@link TestingNodeContext#close()} stops. */
        public Builder realTimeScheduler()
        {
            return scheduler(new RealTimeScheduler());
        }

        public TestingNodeContext build()
        {
            if (heapBytes <= 0 || poolBytes <= 0 || poolBytes > heapBytes) {
                throw new IllegalArgumentException("expected 0 < poolBytes <= heapBytes: pool " + poolBytes + ", heap " + heapBytes);
            }
            if (clock == null) {
                clock = scheduler instanceof TestingScheduler testing ? testing.clock() : new TestingClock();
            }
            if (scheduler == null) {
                if (!(clock instanceof TestingClock testingClock)) {
                    throw new IllegalArgumentException("a context with a clock other than a TestingClock needs a scheduler: " + clock);
                }
                scheduler = new TestingScheduler(testingClock);
            }
            return new TestingNodeContext(this);
        }
    }
}
