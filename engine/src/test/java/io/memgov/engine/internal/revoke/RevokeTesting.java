package io.memgov.engine.internal.revoke;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.spill.RevocableConsumer;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** Real nodes, a real strategy and recording consumers for the revoking tests. */
final class RevokeTesting
{
    static final String OLDEST_FIRST = "oldest-first";

    private RevokeTesting() {}

    /** A node with a fixed pool of {@code poolBytes} and no per-query limits. */
    static NodeMemoryManager node(long poolBytes)
    {
        Clock clock = Clock.systemUTC();
        return new NodeMemoryManager(NodeId.of("node-test"), new FixedMemoryPool("general", poolBytes), ExactMemoryTracker.root("node-test", 0),
                clock, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /**
     * Trino's order (the engine cannot see plugin-spill's {@code threshold}, so the tests carry their own): tasks
     * oldest first, each task's operators in registration order, until the bytes are covered.
     */
    static final SpillStrategy OLDEST_TASK_FIRST = (pool, consumers, bytesToRevoke) -> {
        Map<Object, RevocableConsumerInfo> firstOfTask = new HashMap<>();
        for (RevocableConsumerInfo consumer : consumers) {
            firstOfTask.merge(consumer.taskId(), consumer, (a, b) -> a.registrationOrder() <= b.registrationOrder() ? a : b);
        }
        List<RevocableConsumerInfo> ordered = new ArrayList<>(consumers);
        ordered.sort(Comparator.comparing((RevocableConsumerInfo consumer) -> firstOfTask.get(consumer.taskId()).taskCreateTime())
                .thenComparingLong(consumer -> firstOfTask.get(consumer.taskId()).registrationOrder())
                .thenComparingLong(RevocableConsumerInfo::registrationOrder));
        List<RevokeRequest> requests = new ArrayList<>();
        long remaining = bytesToRevoke;
        for (RevocableConsumerInfo consumer : ordered) {
            if (remaining <= 0) {
                break;
            }
            requests.add(new RevokeRequest(consumer.consumerId(), consumer.revocableBytes()));
            remaining -= consumer.revocableBytes();
        }
        return requests;
    };

    /** Registers {@link #OLDEST_TASK_FIRST} under {@value #OLDEST_FIRST}, so an engine can select it. */
    static MemoryPlugin oldestFirstPlugin()
    {
        return new MemoryPlugin()
        {
            @Override
            public List<SpillStrategyFactory> spillStrategyFactories()
            {
                return List.of(new SpillStrategyFactory()
                {
                    @Override
                    public String name()
                    {
                        return OLDEST_FIRST;
                    }

                    @Override
                    public SpillStrategy create(PolicyConfig config, SpillStrategyContext context)
                    {
                        return OLDEST_TASK_FIRST;
                    }
                });
            }
        };
    }

    /** An engine whose spill strategy is {@value #OLDEST_FIRST}. */
    static MemoryEngine engine(Map<String, String> properties)
    {
        Map<String, String> all = new LinkedHashMap<>(properties);
        all.putIfAbsent("memory.spill-strategy.policy", OLDEST_FIRST);
        // the revoking tests count bytes as set
        all.putIfAbsent("memory.reservation-quantum", "0B");
        return MemoryEngine.builder().withoutClassPathDiscovery().plugin(oldestFirstPlugin()).properties(all).build();
    }

    /**
     * A consumer whose revoke the test completes: {@link #startMemoryRevoke()} records the call and returns a future
     * that {@link #spill()} or {@link #fail} completes.
     */
    static final class ControlledConsumer
            implements RevocableConsumer
    {
        private final OperatorMemoryContext operator;
        final AtomicInteger starts = new AtomicInteger();
        final AtomicInteger finishes = new AtomicInteger();
        private volatile CompletableFuture<Void> current;

        ControlledConsumer(OperatorMemoryContext operator)
        {
            this.operator = operator;
        }

        @Override
        public synchronized CompletableFuture<?> startMemoryRevoke()
        {
            starts.incrementAndGet();
            current = new CompletableFuture<>();
            return current;
        }

        @Override
        public void finishMemoryRevoke()
        {
            finishes.incrementAndGet();
        }

        /** Gives back all revocable memory, as a spill would, and completes the revoke. */
        void spill()
        {
            operator.revocableMemory().setBytes(0);
            current.complete(null);
        }

        void fail(RuntimeException failure)
        {
            current.completeExceptionally(failure);
        }

        CompletableFuture<Void> current()
        {
            return current;
        }

        @Override
        public String toString()
        {
            return "ControlledConsumer{" + operator.tag() + "}";
        }
    }
}
