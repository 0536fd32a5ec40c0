package io.memgov.plugin.reservemode;

import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * The engine's side of a pool, as the tests need it: a controllable clock, a real scheduler, a {@link TestMemoryPool}
 * as the standard pool, and a {@code failQuery} that records the first failure of each query and, like the engine,
 * frees everything the query holds through the pool under test.
 */
final class FakeMemoryPoolContext
        implements MemoryPoolContext, AutoCloseable
{
    static final NodeId NODE = NodeId.of("n1");

    private final long poolBytes;
    private final MutableClock clock = new MutableClock();
    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1, runnable -> {
        Thread thread = new Thread(runnable, "reserve-mode-test-scheduler");
        thread.setDaemon(true);
        return thread;
    });
    private final List<Failure> failQueryCalls = new CopyOnWriteArrayList<>();
    private final Map<QueryId, Failure> failures = new ConcurrentHashMap<>();
    private volatile boolean releaseOnFail = true;
    private volatile TestMemoryPool standardPool;
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

    MutableClock mutableClock()
    {
        return clock;
    }

    TestMemoryPool standardPool()
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
        MemoryPool pool = poolUnderTest;
        standardPool.userHoldings(queryId).forEach((task, tags) -> tags.forEach((tag, bytes) -> freeTolerantly(() -> pool.free(task, tag, bytes))));
        standardPool.revocableHoldings(queryId).forEach((task, bytes) -> freeTolerantly(() -> pool.freeRevocable(task, bytes)));
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
    public MemoryPool createStandardPool(String poolId, long maxBytes)
    {
        TestMemoryPool pool = new TestMemoryPool(poolId, maxBytes);
        standardPool = pool;
        return pool;
    }

    @Override
    public Clock clock()
    {
        return clock;
    }

    @Override
    public ScheduledExecutorService scheduler()
    {
        return scheduler;
    }

    @Override
    public void close()
    {
        scheduler.shutdownNow();
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

    /** A clock that tests move by hand. */
    static final class MutableClock
            extends Clock
    {
        private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

        void advance(Duration duration)
        {
            millis.addAndGet(duration.toMillis());
        }

        @Override
        public ZoneId getZone()
        {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone)
        {
            return this;
        }

        @Override
        public long millis()
        {
            return millis.get();
        }

        @Override
        public Instant instant()
        {
            return Instant.ofEpochMilli(millis.get());
        }
    }
}
