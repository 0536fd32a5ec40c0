package io.memgov.testing;

import io.memgov.engine.StandardMemoryPools;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import static java.util.Objects.requireNonNull;



/**
 * Policies with one deliberate defect each, and the contract suites run against them. They are run only by
 * {@link ContractSuitesCatchBrokenPoliciesTest}, through the JUnit Platform launcher with
 * {@value #RUN_BROKEN_FIXTURES} set; anywhere else (an IDE running every class) they are disabled.
 */
final class BrokenFixtures
{
    static final String RUN_BROKEN_FIXTURES = "memgov.testing.run-broken-fixtures";
    // the one-second race check proves nothing about these fixtures' defects and would double their run time
    static final String NOT_WHAT_IT_BREAKS = "the race check is not what this fixture breaks";

    private BrokenFixtures() {}

    /** Enables a class only when the launcher that runs it sets {@value #RUN_BROKEN_FIXTURES}. */
    static final class OnlyWhenAskedFor
            implements ExecutionCondition
    {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context)
        {
            return context.getConfigurationParameter(RUN_BROKEN_FIXTURES, Boolean::parseBoolean).orElse(false)
                    ? ConditionEvaluationResult.enabled("run by ContractSuitesCatchBrokenPoliciesTest")
                    : ConditionEvaluationResult.disabled("a deliberately broken fixture: its contract tests are meant to fail");
        }
    }

    /** Records a tryReserve before checking the budget, and "refuses" by returning false without undoing the record. */
    @ExtendWith(OnlyWhenAskedFor.class)
    static final class RecordsBeforeRefusingPoolContract
            extends MemoryPoolContract
    {
        @Override
        protected MemoryPool newPool(long maxBytes)
        {
            return new ForwardingPool(StandardMemoryPools.create("general", maxBytes))
            {
                @Override
                public boolean tryReserve(TaskId taskId, String tag, long bytes)
                {
                    delegate.reserve(taskId, tag, bytes);
                    return delegate.freeBytes() >= 0;
                }
            };
        }

        @Test
        @Disabled(NOT_WHAT_IT_BREAKS)
        @Override
        public void racingTriesNeverOverCommit() {}
    }

    /** Hands every blocked caller a future of its own (and completes them all on the next free). */
    @ExtendWith(OnlyWhenAskedFor.class)
    static final class FuturePerCallerPoolContract
            extends MemoryPoolContract
    {
        @Override
        protected MemoryPool newPool(long maxBytes)
        {
            return new ForwardingPool(StandardMemoryPools.create("general", maxBytes))
            {
                private final List<MemoryFuture> handedOut = new ArrayList<>();

                @Override
                public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
                {
                    return own(delegate.reserve(taskId, tag, bytes));
                }

                @Override
                public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
                {
                    return own(delegate.reserveRevocable(taskId, bytes));
                }

                private synchronized MemoryFuture own(MemoryFuture shared)
                {
                    if (shared.isDone()) {
                        return shared;
                    }
                    MemoryFuture mine = MemoryFuture.pending();
                    handedOut.add(mine);
                    shared.thenRun(() -> release(mine));
                    return mine;
                }

                private synchronized void release(MemoryFuture future)
                {
                    future.signal();
                    handedOut.remove(future);
                }
            };
        }

        @Test
        @Disabled(NOT_WHAT_IT_BREAKS)
        @Override
        public void racingTriesNeverOverCommit() {}
    }

    /**
     * Reads who holds the most from the nodes' pools instead of from the running queries, so it may name a query that
     * has just ended.
     */
    @ExtendWith(OnlyWhenAskedFor.class)
    static final class NamesEndedQueriesKillerContract
            extends LowMemoryKillerContract
    {
        @Override
        protected LowMemoryKiller newKiller()
        {
            return (List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes) -> {
                Map<QueryId, Long> held = new TreeMap<>(Comparator.comparing(QueryId::id));
                for (NodeMemoryInfo node : nodes) {
                    node.generalPool().queryMemoryReservations().forEach((query, bytes) -> held.merge(query, bytes, Long::sum));
                }
                return held.entrySet().stream()
                        .max(Map.Entry.comparingByValue())
                        .map(largest -> KillTarget.wholeQuery(largest.getKey()));
            };
        }
    }

    /** Offers a killer whose factory ignores the keys it does not know, so a typo in a property file goes unnoticed. */
    @ExtendWith(OnlyWhenAskedFor.class)
    static final class IgnoresUnknownKeysPluginContract
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new MemoryPlugin()
            {
                @Override
                public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
                {
                    return List.of(new LowMemoryKillerFactory()
                    {
                        @Override
                        public String name()
                        {
                            return "lenient";
                        }

                        @Override
                        public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                        {
                            return LowMemoryKiller.NONE;
                        }
                    });
                }
            };
        }

        @Override
        protected boolean isListedForTheServiceLoader()
        {
            return false;
        }
    }

    /** A tracker whose refused allocation is taken back only at the level that refused, not at the levels below it. */
    @ExtendWith(OnlyWhenAskedFor.class)
    static final class NoRollbackTrackerContract
            extends MemoryTrackerContract
    {
        @Override
        protected MemoryTracker newRoot(long hardLimitBytes)
        {
            return new NoRollbackTracker(TrackerLevel.NODE, "node-0", null, hardLimitBytes);
        }
    }

    private static final class NoRollbackTracker
            implements MemoryTracker
    {
        private final TrackerLevel level;
        private final String description;
        private final NoRollbackTracker parent;
        private final long hardLimitBytes;
        private final AtomicLong used = new AtomicLong();
        private final AtomicLong peak = new AtomicLong();

        NoRollbackTracker(TrackerLevel level, String description, NoRollbackTracker parent, long hardLimitBytes)
        {
            this.level = level;
            this.description = description;
            this.parent = parent;
            this.hardLimitBytes = hardLimitBytes;
        }

        @Override
        public TrackerLevel level()
        {
            return level;
        }

        @Override
        public String description()
        {
            return description;
        }

        @Override
        public Optional<MemoryTracker> parent()
        {
            return Optional.ofNullable(parent);
        }

        @Override
        public long usedBytes()
        {
            return used.get();
        }

        @Override
        public long peakBytes()
        {
            return peak.get();
        }

        @Override
        public long hardLimitBytes()
        {
            return hardLimitBytes;
        }

        @Override
        public void allocate(long bytes)
        {
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes is negative: " + bytes);
            }
            long now = used.addAndGet(bytes);
            if (hardLimitBytes > 0 && now > hardLimitBytes) {
                used.addAndGet(-bytes);
                throw new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, "Memory limit (" + level.description() + ") exceeded");
            }
            peak.accumulateAndGet(now, Math::max);
            if (parent != null) {
                // the defect: a parent's refusal leaves this level's bytes in place
                parent.allocate(bytes);
            }
        }

        @Override
        public void free(long bytes)
        {
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes is negative: " + bytes);
            }
            for (NoRollbackTracker tracker = this; tracker != null; tracker = tracker.parent) {
                tracker.used.addAndGet(-bytes);
            }
        }

        @Override
        public MemoryTracker newChild(TrackerLevel level, String description, long hardLimitBytes)
        {
            if (level.ordinal() >= this.level.ordinal()) {
                throw new IllegalArgumentException(level + " is not below " + this.level);
            }
            return new NoRollbackTracker(level, description, this, hardLimitBytes);
        }
    }

    /** Forwards every call to a standard pool; each broken pool overrides the calls it breaks. */
    private static class ForwardingPool
            implements MemoryPool
    {
        protected final MemoryPool delegate;

        ForwardingPool(MemoryPool delegate)
        {
            this.delegate = delegate;
        }

        @Override
        public String id()
        {
            return delegate.id();
        }

        @Override
        public long maxBytes()
        {
            return delegate.maxBytes();
        }

        @Override
        public long reservedBytes()
        {
            return delegate.reservedBytes();
        }

        @Override
        public long reservedRevocableBytes()
        {
            return delegate.reservedRevocableBytes();
        }

        @Override
        public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
        {
            return delegate.reserve(taskId, tag, bytes);
        }

        @Override
        public boolean tryReserve(TaskId taskId, String tag, long bytes)
        {
            return delegate.tryReserve(taskId, tag, bytes);
        }

        @Override
        public void free(TaskId taskId, String tag, long bytes)
        {
            delegate.free(taskId, tag, bytes);
        }

        @Override
        public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
        {
            return delegate.reserveRevocable(taskId, bytes);
        }

        @Override
        public boolean tryReserveRevocable(TaskId taskId, long bytes)
        {
            return delegate.tryReserveRevocable(taskId, bytes);
        }

        @Override
        public void freeRevocable(TaskId taskId, long bytes)
        {
            delegate.freeRevocable(taskId, bytes);
        }

        @Override
        public long queryReservedBytes(QueryId queryId)
        {
            return delegate.queryReservedBytes(queryId);
        }

        @Override
        public long queryRevocableBytes(QueryId queryId)
        {
            return delegate.queryRevocableBytes(queryId);
        }

        @Override
        public void forgetQuery(QueryId queryId)
        {
            delegate.forgetQuery(queryId);
        }

        @Override
        public void addListener(MemoryPoolListener listener)
        {
            requireNonNull(listener, "listener is null");
            delegate.addListener(changed -> listener.onMemoryReserved(this));
        }

        @Override
        public MemoryPoolInfo info()
        {
            return delegate.info();
        }
    }
}
