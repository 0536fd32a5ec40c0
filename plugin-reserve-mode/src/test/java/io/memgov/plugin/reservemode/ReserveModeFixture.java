package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPool;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One node under test: a fake engine context, a controlled probe whose figures the test sets, and the factory.
 */
final class ReserveModeFixture
        implements AutoCloseable
{
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;

    final FakeMemoryPoolContext context;
    final AtomicLong available = new AtomicLong();
    final AtomicLong total = new AtomicLong(64 * GIB);
    final ReserveModePoolFactory factory = new ReserveModePoolFactory(source -> new ControlledMemoryProbe(available::get, total::get));

    ReserveModeFixture(long poolBytes, long availableBytes)
    {
        this.context = new FakeMemoryPoolContext(poolBytes);
        this.available.set(availableBytes);
    }

    /** Creates the node's pool with the given keys; nothing else set, so the defaults apply. */
    MemoryPool create(Map<String, String> config)
    {
        MemoryPool pool = factory.create(PolicyConfig.of(ReserveModeConfig.PREFIX, config), context).generalPool();
        context.attach(pool);
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

    @Override
    public void close()
    {
        context.close();
    }
}
