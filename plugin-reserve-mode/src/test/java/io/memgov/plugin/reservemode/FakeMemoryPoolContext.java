package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.testing.RealTimeScheduler;
import io.memgov.testing.TestingClock;
import io.memgov.testing.TestingNodeContext;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * The engine's side of a pool, as the tests need it: a controllable clock, a real scheduler, the engine's standard
 * pool, and a {@code failQuery} that records the first failure of each query and, like the engine,
 * frees everything the query holds through the pool under test.
 */
final class FakeMemoryPoolContext
        implements MemoryPoolContext, AutoCloseable
{
    static final NodeId NODE = NodeId.of("n1");

    private final long poolBytes;
    private final TestingClock clock = new TestingClock(Instant.ofEpochMilli(1_700_000_000_000L));
    private final RealTimeScheduler scheduler = new RealTimeScheduler();
    private final List<Failure> failQueryCalls = new CopyOnWriteArrayList<>();
    private final Map<QueryId, Failure> failures = new ConcurrentHashMap<>();
    private volatile boolean releaseOnFail = true;
    private volatile ResizableMemoryPool standardPool;
    private volatile MemoryPool poolUnderTest;

    FakeMemoryPoolContext(long poolBytes)
    {
        this.poolBytes = poolBytes;
    }

    /** The pool that failed queries are released through, as the engine's accounting would. */
    void attach(MemoryPool pool)
    {
        this.poolUnderTest = requireNonNull(pool, "pool is null");
    }

    /** When false the host is slow: failed queries keep their memory until the test releases it. */
    void releaseOnFail(boolean releaseOnFail)
    {
        this.releaseOnFail = releaseOnFail;
    }

    TestingClock mutableClock()
    {
        return clock;
    }

    ResizableMemoryPool standardPool()
    {
        return standardPool;
    }

    /** Every call to failQuery, in order, including repeated ones. */
    List<Failure> failQueryCalls()
    {
        return List.copyOf(failQueryCalls);
    }

    List<QueryId> failedQueries()
    {
        return failQueryCalls.stream().map(Failure::queryId).collect(Collectors.toList());
    }

    /** Releases everything the query holds, as the engine does when a query context closes. */
    void release(QueryId queryId)
    {
        // the tests run one task per query (task(q)), so the pool's per-query tags are that task's
        MemoryPool pool = poolUnderTest;
        MemoryPoolInfo info = standardPool.info();
        info.queryMemoryAllocations().getOrDefault(queryId, List.of())
                .forEach(allocation -> freeTolerantly(() -> pool.free(task(queryId.id()), allocation.tag(), allocation.allocationBytes())));
        info.taskRevocableMemoryReservations().forEach((task, bytes) -> {
            if (task.queryId().equals(queryId)) {
                freeTolerantly(() -> pool.freeRevocable(task, bytes));
            }
        });
    }

    @Override
    public NodeId nodeId()
    {
        return NODE;
    }

    @Override
    public long heapBytes()
    {
        return poolBytes;
    }

    @Override
    public long poolBytes()
    {
        return poolBytes;
    }

    @Override
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        Failure failure = new Failure(queryId, errorCode, message);
        failQueryCalls.add(failure);
        boolean first = failures.putIfAbsent(queryId, failure) == null;
        if (first && releaseOnFail && poolUnderTest != null) {
            release(queryId);
        }
        return first;
    }

    @Override
    public ResizableMemoryPool createStandardPool(String poolId, long maxBytes)
    {
        // the real standard pool, as the engine hands it out
        ResizableMemoryPool pool = TestingNodeContext.create().createStandardPool(poolId, maxBytes);
        standardPool = pool;
        return pool;
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
    public void close()
    {
        scheduler.close();
    }

    private static void freeTolerantly(Runnable free)
    {
        try {
            free.run();
        }
        catch (IllegalArgumentException e) {
            // an operator thread freed the same bytes first; the engine tolerates that race the same way
        }
    }

    record Failure(QueryId queryId, ErrorCode errorCode, String message) {}

    static TaskId task(String queryId)
    {
        return TaskId.of(QueryId.of(queryId), "0");
    }
}
