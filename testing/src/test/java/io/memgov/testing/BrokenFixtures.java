package io.memgov.testing;

import io.memgov.engine.pool.FixedMemoryPool;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
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
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Policies with one deliberate defect each, and the contract suites run against them. They are run only by
 * {@link ContractSuitesCatchBrokenPoliciesTest}, through the JUnit Platform launcher with
 * {@value #RUN_BROKEN_FIXTURES} set; anywhere else (an IDE running every class) they are disabled.
 */
final class BrokenFixtures
{
    static final String RUN_BROKEN_FIXTURES = "memgov.testing.run-broken-fixtures";

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
            return new ForwardingPool(new FixedMemoryPool("general", maxBytes))
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
        @Disabled(FixedMemoryPoolContractTest.TRY_RACE)
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
            return new ForwardingPool(new FixedMemoryPool("general", maxBytes))
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
        @Disabled(FixedMemoryPoolContractTest.TRY_RACE)
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
