package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.tracker.MemoryTrackerContext;
import io.memgov.testing.RealTimeScheduler;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/** A node context for tests: records failed queries and metrics; closing it shuts the scheduler down. */
final class FakeTrackerContext
        implements MemoryTrackerContext, AutoCloseable
{
    record FailedQuery(QueryId queryId, ErrorCode errorCode, String message) {}

    private final long heapBytes;
    private final long poolBytes;
    private final RealTimeScheduler scheduler = new RealTimeScheduler();
    private final List<FailedQuery> failedQueries = new CopyOnWriteArrayList<>();
    private final Map<String, Long> gauges = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();
    private volatile Consumer<FailedQuery> onFailQuery = failed -> {};

    FakeTrackerContext(long heapBytes, long poolBytes)
    {
        this.heapBytes = heapBytes;
        this.poolBytes = poolBytes;
    }

    /** What the test does when a query is failed (the engine would release its memory). Runs on the caller. */
    FakeTrackerContext onFailQuery(Consumer<FailedQuery> action)
    {
        this.onFailQuery = action;
        return this;
    }

    List<FailedQuery> failedQueries()
    {
        return failedQueries;
    }

    Long gauge(String name)
    {
        return gauges.get(name);
    }

    long counter(String name)
    {
        AtomicLong counter = counters.get(name);
        return counter == null ? 0 : counter.get();
    }

    @Override
    public NodeId nodeId()
    {
        return NodeId.of("node-1");
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
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        boolean first = failedQueries.stream().noneMatch(failed -> failed.queryId().equals(queryId));
        FailedQuery failed = new FailedQuery(queryId, errorCode, message);
        failedQueries.add(failed);
        onFailQuery.accept(failed);
        return first;
    }

    @Override
    public Clock clock()
    {
        return Clock.systemUTC();
    }

    @Override
    public PolicyScheduler scheduler()
    {
        return scheduler;
    }

    @Override
    public MetricsSink metrics()
    {
        return new MetricsSink()
        {
            @Override
            public void gauge(String name, long value)
            {
                gauges.put(name, value);
            }

            @Override
            public void increment(String name, long delta)
            {
                counters.computeIfAbsent(name, ignored -> new AtomicLong()).addAndGet(delta);
            }
        };
    }

    @Override
    public void close()
    {
        scheduler.close();
    }
}
