package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import io.memgov.testing.TestingNodeContext;

import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/** Builds a node tree for tests; correction is off unless a test turns it on. */
final class TrackerFixture
        implements AutoCloseable
{
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    static final long GIB = 1024 * MIB;

    final TestingNodeContext context;
    final ThreadBatchedMemoryTracker root;

    private TrackerFixture(Map<String, String> config, LongSupplier correctionSource, long poolBytes)
    {
        Map<String, String> effective = new HashMap<>();
        effective.put("correction-interval", "0");
        effective.putAll(config);
        context = context(poolBytes);
        ThreadBatchedMemoryTrackerFactory factory = correctionSource == null
                ? new ThreadBatchedMemoryTrackerFactory()
                : new ThreadBatchedMemoryTrackerFactory(correctionSource);
        root = factory.createRoot(PolicyConfig.of(ThreadBatchedConfig.PREFIX, effective), context);
    }

    /**
     * A node whose heap is twice {@code poolBytes}, on the system clock, with a real scheduler for the correction
     * worker; closing it stops the scheduler. It records failed queries and metrics.
     */
    static TestingNodeContext context(long poolBytes)
    {
        return TestingNodeContext.builder()
                .nodeId("node-1")
                .heapBytes(2 * poolBytes)
                .poolBytes(poolBytes)
                .clock(Clock.systemUTC())
                .realTimeScheduler()
                .build();
    }

    static TrackerFixture tree(Map<String, String> config)
    {
        return new TrackerFixture(config, null, GIB);
    }

    static TrackerFixture tree(Map<String, String> config, LongSupplier correctionSource)
    {
        return new TrackerFixture(config, correctionSource, GIB);
    }

    /** A node whose pool is {@code poolBytes}: the automatic node limit is 90% of it. */
    static TrackerFixture tree(Map<String, String> config, LongSupplier correctionSource, long poolBytes)
    {
        return new TrackerFixture(config, correctionSource, poolBytes);
    }

    MemoryTracker user(String name)
    {
        return root.newChild(TrackerLevel.USER, name, 0);
    }

    static MemoryTracker query(MemoryTracker user, String id)
    {
        return user.newChild(TrackerLevel.QUERY, id, 0);
    }

    static MemoryTracker query(MemoryTracker user, String id, long limit)
    {
        return user.newChild(TrackerLevel.QUERY, id, limit);
    }

    TrackerTree treeState()
    {
        return root.tree();
    }

    @Override
    public void close()
    {
        root.close();
        context.close();
    }
}
