package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.testing.TestingClock;
import io.memgov.testing.TestingNodeContext;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * One node under test: the kit's node context (a controllable clock, a real scheduler for the checker, the engine's
 * standard pool), a controlled probe whose figures the test sets, and the factory. Like the engine, the node releases
 * what a failed query holds through the pool under test, unless the test makes the host slow
 * ({@link #releaseOnFail(boolean)}).
 */
final class ReserveModeFixture
        implements AutoCloseable
{
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;

    final TestingNodeContext context;
    final AtomicLong available = new AtomicLong();
    final AtomicLong total = new AtomicLong(64 * GIB);
    final ReserveModePoolFactory factory = new ReserveModePoolFactory(source -> new ControlledMemoryProbe(available::get, total::get));
    private volatile boolean releaseOnFail = true;
    private volatile MemoryPool poolUnderTest;

    ReserveModeFixture(long poolBytes, long availableBytes)
    {
        this.context = TestingNodeContext.builder()
                .nodeId("n1")
                .heapBytes(poolBytes)
                .poolBytes(poolBytes)
                .clock(new TestingClock(Instant.ofEpochMilli(1_700_000_000_000L)))
                .realTimeScheduler()
                .build();
        this.available.set(availableBytes);
        context.onFailQuery(failure -> {
            MemoryPool pool = poolUnderTest;
            if (releaseOnFail && pool != null) {
                TestingNodeContext.releaseQuery(pool, failure.queryId());
            }
        });
    }

    /** The task the tests run each query in: {@code <query>.0}. */
    static TaskId task(String queryId)
    {
        return TaskId.of(QueryId.of(queryId), "0");
    }

    /** Creates the node's pool with the given keys; nothing else set, so the defaults apply. */
    MemoryPool create(Map<String, String> config)
    {
        MemoryPool pool = factory.create(PolicyConfig.of(ReserveModeConfig.PREFIX, config), context).generalPool();
        attach(pool);
        return pool;
    }

    /**
     * A governed pool whose checker runs only when the test calls {@code runCheck()} (the scheduled one waits an
     * hour) and without the start-up rule, so that scenarios can start with little available memory.
     */
    ReserveModeMemoryPool governed(Map<String, String> config)
    {
        Map<String, String> all = new HashMap<>(Map.of(
                "check-interval", "1h",
                "min-available-at-start", "0",
                "min-free-after-reserve", "0"));
        all.putAll(config);
        return (ReserveModeMemoryPool) create(all);
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

    /** Releases everything the query holds, as the engine does when a query context closes. */
    void release(QueryId queryId)
    {
        TestingNodeContext.releaseQuery(poolUnderTest, queryId);
    }

    /** The query of every failQuery call, in order, repeated ones included. */
    List<QueryId> failedQueries()
    {
        return context.failQueryCalls().stream().map(TestingNodeContext.FailedQuery::queryId).toList();
    }

    /** The standard pool the factory asked the node for, or null if it asked for none. */
    ResizableMemoryPool standardPool()
    {
        List<ResizableMemoryPool> pools = context.standardPools();
        return pools.isEmpty() ? null : pools.get(pools.size() - 1);
    }

    @Override
    public void close()
    {
        context.close();
    }
}
