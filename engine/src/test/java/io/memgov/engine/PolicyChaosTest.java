package io.memgov.engine;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import io.memgov.spi.leak.KnownQuery;



/**
 * Chaos for every family the engine calls periodically: a policy that throws an {@link Error}, one that blocks (and
 * ignores interrupts) and one that returns garbage. The loop keeps running, each failure is logged once, and
 * {@code engine.close()} returns in bounded time whatever the policy does.
 */
final class PolicyChaosTest
{
    private static final String NAME = "chaos";
    private static final long MB = 1024 * 1024;
    private static final Duration BOUND = Duration.ofSeconds(10);

    /** The families the engine calls periodically, each with the setting that selects it and the state that makes it called. */
    enum Family
    {
        TASK_KILLER("task.low-memory-killer.policy"),
        QUERY_KILLER("query.low-memory-killer.policy"),
        LEAK_DETECTOR("memory.leak-detector.policy"),
        SPILL_STRATEGY("memory.spill-strategy.policy"),
        POOL_ASSIGNER("memory.pool-assigner.policy");

        final String key;

        Family(String key)
        {
            this.key = key;
        }
    }

    enum Misbehaviour
    {
        THROWS_ERROR,
        BLOCKS,
        RETURNS_GARBAGE
    }

    // strong references: java.util.logging keeps loggers only weakly, and a collected logger loses its handler
    private final Logger guardLogger = Logger.getLogger("io.memgov.engine.internal.guard.PolicyCallGuard");
    private final Logger loopLogger = Logger.getLogger("io.memgov.engine.internal.cluster.ClusterMemoryManager");
    private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler()
    {
        @Override
        public void publish(LogRecord record)
        {
            if (record.getLevel().intValue() >= Level.WARNING.intValue() && record.getMessage().contains("'" + NAME + "'")) {
                logged.add(record);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    private final AtomicInteger calls = new AtomicInteger();
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicReference<CountDownLatch> calledAgain = new AtomicReference<>(new CountDownLatch(3));
    private Misbehaviour misbehaviour;
    private MemoryEngine engine;
    // held: a context the host drops is collected and its memory released, which would unblock the node (an operator's
    // handle keeps its task's and its query's handles)
    private OperatorMemoryContext operator;

    @BeforeEach
    void captureLogs()
    {
        guardLogger.addHandler(capture);
        loopLogger.addHandler(capture);
    }

    @AfterEach
    void tearDown()
    {
        release.countDown();
        if (engine != null) {
            engine.close();
        }
        guardLogger.removeHandler(capture);
        loopLogger.removeHandler(capture);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void aPolicyThatThrowsAnErrorIsLoggedOnceAndCalledAgainNextRound(Family family)
            throws InterruptedException
    {
        start(family, Misbehaviour.THROWS_ERROR);

        // three calls: the loop survived two Errors
        assertThat(calledAgain.get().await(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(severe()).hasSize(1);
        assertThat(severe().get(0).getMessage()).contains("it threw java.lang.NoClassDefFoundError: com/example/Missing");
        assertClosesPromptly();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void aPolicyThatReturnsGarbageIsLoggedOnceAndCalledAgainNextRound(Family family)
            throws InterruptedException
    {
        start(family, Misbehaviour.RETURNS_GARBAGE);

        assertThat(calledAgain.get().await(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        // a killer's garbage is a target that is not running (logged once per target); the others' is null
        assertThat(logged).hasSize(1);
        assertThat(logged.get(0).getMessage()).containsAnyOf("chose query ghost, which is not running", "it returned null");
        assertThat(engine.cluster().queriesKilledDueToOutOfMemory() + engine.cluster().tasksKilledDueToOutOfMemory()).isZero();
        assertClosesPromptly();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void aPolicyThatBlocksIsAbandonedAndTheLoopGoesOnWithoutIt(Family family)
            throws InterruptedException
    {
        start(family, Misbehaviour.BLOCKS);
        assertThat(entered.await(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();

        // while the call is stuck the engine's rounds go on, without calling it again
        assertTimeoutPreemptively(BOUND, () -> {
            for (int round = 0; round < 5; round++) {
                engine.cluster().process();
                engine.revokingScheduler(engine.node(0).nodeId()).ifPresent(MemoryRevoker::checkNow);
            }
        });
        assertThat(calls).hasValue(1);
        assertThat(severe()).hasSize(1);
        assertThat(severe().get(0).getMessage()).contains("did not return within 100 ms (policy.call-timeout); the call was abandoned");
        assertThat(engine.node(0).pool().reservedBytes() + engine.node(0).pool().reservedRevocableBytes()).isEqualTo(7 * MB);

        // once it returns, the next rounds call it again
        calledAgain.set(new CountDownLatch(1));
        release.countDown();
        assertThat(calledAgain.get().await(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertClosesPromptly();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void closeReturnsPromptlyWhileAPolicyBlocks(Family family)
            throws InterruptedException
    {
        start(family, Misbehaviour.BLOCKS);
        assertThat(entered.await(BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();

        assertClosesPromptly();
    }

    private void assertClosesPromptly()
    {
        MemoryEngine closing = engine;
        engine = null;
        // the policy may still be stuck: close() abandons it
        assertTimeoutPreemptively(Duration.ofSeconds(3), closing::close);
    }

    private List<LogRecord> severe()
    {
        return logged.stream().filter(record -> record.getLevel() == Level.SEVERE).toList();
    }

    /** Starts an engine whose {@code family} is the chaos policy, and puts the node in the state that makes it called. */
    private void start(Family family, Misbehaviour misbehaviour)
    {
        this.misbehaviour = misbehaviour;
        engine = MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .plugin(plugin())
                .properties(Map.of(
                        "node.heap-size", "10MB",
                        "query.max-memory-per-node", "7MB",
                        "memory.cluster.poll-interval", "10ms",
                        "policy.call-timeout", "100ms",
                        family.key, NAME))
                .build();
        NodeMemory node = engine.node(0);
        operator = node.createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("HashAggregation");
        if (family == Family.SPILL_STRATEGY) {
            // revocable memory over the revoking threshold makes the revoking scheduler ask the strategy
            operator.revocableMemory().setBytes(7 * MB);
        }
        else {
            // a full general pool: the cluster is out of memory, so the killers are asked too
            operator.userMemory().setBytes(7 * MB);
        }
    }

    /** What the chaos policy does on each call; {@code normal} is its answer once it behaves. */
    private <T> T misbehave(T garbage, T normal)
    {
        int call = calls.incrementAndGet();
        calledAgain.get().countDown();
        switch (misbehaviour) {
            case THROWS_ERROR -> throw new NoClassDefFoundError("com/example/Missing");
            case RETURNS_GARBAGE -> {
                return garbage;
            }
            case BLOCKS -> {
                if (call == 1) {
                    entered.countDown();
                    awaitIgnoringInterrupts();
                }
                return normal;
            }
        }
        throw new AssertionError(misbehaviour);
    }

    private void awaitIgnoringInterrupts()
    {
        while (true) {
            try {
                release.await();
                return;
            }
            catch (InterruptedException e) {
                // a policy that ignores interrupts: the engine must not rely on them
            }
        }
    }

    private MemoryPlugin plugin()
    {
        LowMemoryKiller killer = (running, nodes) -> misbehave(Optional.of(KillTarget.wholeQuery(QueryId.of("ghost"))), Optional.empty());
        MemoryLeakDetector leakDetector = new MemoryLeakDetector()
        {
            @Override
            public Set<QueryId> checkForLeaks(Map<QueryId, KnownQuery> knownQueries, Map<QueryId, Long> queryReservations)
            {
                return misbehave(null, Set.of());
            }

            @Override
            public boolean wasQueryPossiblyLeaked(QueryId queryId)
            {
                return false;
            }

            @Override
            public int numberOfLeakedQueries()
            {
                return 0;
            }

            @Override
            public long leakedBytes()
            {
                return 0;
            }
        };
        SpillStrategy spillStrategy = (pool, consumers, bytes) -> misbehave(null, List.of());
        MemoryPoolAssigner assigner = (nodes, running, current) -> misbehave(null, current.placements());
        return new MemoryPlugin()
        {
            @Override
            public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
            {
                return List.of(killerFactory(KillerScope.QUERY, killer), killerFactory(KillerScope.TASK, killer));
            }

            @Override
            public List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
            {
                return List.of(new MemoryLeakDetectorFactory()
                {
                    @Override
                    public String name()
                    {
                        return NAME;
                    }

                    @Override
                    public MemoryLeakDetector create(PolicyConfig config, MemoryLeakDetectorContext context)
                    {
                        return leakDetector;
                    }
                });
            }

            @Override
            public List<SpillStrategyFactory> spillStrategyFactories()
            {
                return List.of(new SpillStrategyFactory()
                {
                    @Override
                    public String name()
                    {
                        return NAME;
                    }

                    @Override
                    public SpillStrategy create(PolicyConfig config, SpillStrategyContext context)
                    {
                        return spillStrategy;
                    }
                });
            }

            @Override
            public List<MemoryPoolAssignerFactory> memoryPoolAssignerFactories()
            {
                return List.of(new MemoryPoolAssignerFactory()
                {
                    @Override
                    public String name()
                    {
                        return NAME;
                    }

                    @Override
                    public MemoryPoolAssigner create(PolicyConfig config, MemoryPoolAssignerContext context)
                    {
                        return assigner;
                    }
                });
            }
        };
    }

    private static LowMemoryKillerFactory killerFactory(KillerScope scope, LowMemoryKiller killer)
    {
        return new LowMemoryKillerFactory()
        {
            @Override
            public String name()
            {
                return NAME;
            }

            @Override
            public KillerScope scope()
            {
                return scope;
            }

            @Override
            public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
            {
                return killer;
            }
        };
    }
}
