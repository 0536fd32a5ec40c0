package io.memgov.engine.plugin;

import io.memgov.engine.config.PolicyFamily;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.KnownQuery;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Decorators that run every method of a policy with its plugin's class loader as the thread context loader. The
 * engine calls policies from operator threads, the cluster loop and the cleaner, whose context loader is the host's;
 * a plugin library that looks classes up through the context loader (ServiceLoader, Jackson, JAXB) would otherwise
 * find the host's classes, or none. Every method of the SPI interfaces is overridden, default ones included, so that
 * a default implemented by the plugin also runs under its loader.
 */
final class ContextLoaderPolicies
{
    private ContextLoaderPolicies() {}

    /**
     * The policy, decorated when its plugin has a class loader of its own. Policies loaded by the engine's loader
     * (built-ins and plugins on the engine's class path) are returned as they are: the decoration would cost a
     * virtual call and two thread-local writes on every reservation for nothing, and tests may cast them.
     */
    static Object wrap(PolicyFamily family, Object policy, ClassLoader loader)
    {
        requireNonNull(family, "family is null");
        requireNonNull(policy, "policy is null");
        requireNonNull(loader, "loader is null");
        if (loader == ContextLoaderPolicies.class.getClassLoader()) {
            return policy;
        }
        return switch (family) {
            case POOL -> policy instanceof MemoryPool pool ? new ContextLoaderMemoryPool(pool, loader) : policy;
            case TRACKER -> policy instanceof MemoryTracker tracker ? new ContextLoaderMemoryTracker(tracker, loader) : policy;
            case QUERY_KILLER, TASK_KILLER -> policy instanceof LowMemoryKiller killer ? new ContextLoaderLowMemoryKiller(killer, loader) : policy;
            case SPILL_STRATEGY -> policy instanceof SpillStrategy strategy ? new ContextLoaderSpillStrategy(strategy, loader) : policy;
            case LEAK_DETECTOR -> policy instanceof MemoryLeakDetector detector ? new ContextLoaderMemoryLeakDetector(detector, loader) : policy;
        };
    }

    static final class ContextLoaderMemoryPool
            implements MemoryPool
    {
        private final MemoryPool delegate;
        private final ClassLoader loader;

        ContextLoaderMemoryPool(MemoryPool delegate, ClassLoader loader)
        {
            this.delegate = requireNonNull(delegate, "delegate is null");
            this.loader = requireNonNull(loader, "loader is null");
        }

        @Override
        public String id()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.id();
            }
        }

        @Override
        public long maxBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.maxBytes();
            }
        }

        @Override
        public void setMaxBytes(long maxBytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.setMaxBytes(maxBytes);
            }
        }

        @Override
        public long reservedBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.reservedBytes();
            }
        }

        @Override
        public long reservedRevocableBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.reservedRevocableBytes();
            }
        }

        @Override
        public long freeBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.freeBytes();
            }
        }

        @Override
        public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.reserve(taskId, tag, bytes);
            }
        }

        @Override
        public boolean tryReserve(TaskId taskId, String tag, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.tryReserve(taskId, tag, bytes);
            }
        }

        @Override
        public void free(TaskId taskId, String tag, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.free(taskId, tag, bytes);
            }
        }

        @Override
        public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.reserveRevocable(taskId, bytes);
            }
        }

        @Override
        public boolean tryReserveRevocable(TaskId taskId, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.tryReserveRevocable(taskId, bytes);
            }
        }

        @Override
        public void freeRevocable(TaskId taskId, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.freeRevocable(taskId, bytes);
            }
        }

        @Override
        public long queryReservedBytes(QueryId queryId)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.queryReservedBytes(queryId);
            }
        }

        @Override
        public long queryRevocableBytes(QueryId queryId)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.queryRevocableBytes(queryId);
            }
        }

        @Override
        public void forgetQuery(QueryId queryId)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.forgetQuery(queryId);
            }
        }

        @Override
        public void addListener(MemoryPoolListener listener)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.addListener(listener);
            }
        }

        @Override
        public MemoryPoolInfo info()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.info();
            }
        }

        @Override
        public String toString()
        {
            return delegate.toString();
        }
    }

    static final class ContextLoaderMemoryTracker
            implements MemoryTracker
    {
        private final MemoryTracker delegate;
        private final ClassLoader loader;

        ContextLoaderMemoryTracker(MemoryTracker delegate, ClassLoader loader)
        {
            this.delegate = requireNonNull(delegate, "delegate is null");
            this.loader = requireNonNull(loader, "loader is null");
        }

        @Override
        public TrackerLevel level()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.level();
            }
        }

        @Override
        public String description()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.description();
            }
        }

        @Override
        public Optional<MemoryTracker> parent()
        {
            // parents and children are the plugin's trackers too: hand them out decorated
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.parent().map(parent -> new ContextLoaderMemoryTracker(parent, loader));
            }
        }

        @Override
        public long usedBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.usedBytes();
            }
        }

        @Override
        public long peakBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.peakBytes();
            }
        }

        @Override
        public long hardLimitBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.hardLimitBytes();
            }
        }

        @Override
        public void allocate(long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.allocate(bytes);
            }
        }

        @Override
        public void free(long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.free(bytes);
            }
        }

        @Override
        public void flush()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.flush();
            }
        }

        @Override
        public long untrackedBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.untrackedBytes();
            }
        }

        @Override
        public MemoryTracker newChild(TrackerLevel level, String description, long hardLimitBytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return new ContextLoaderMemoryTracker(delegate.newChild(level, description, hardLimitBytes), loader);
            }
        }

        @Override
        public void close()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.close();
            }
        }

        @Override
        public String toString()
        {
            return delegate.toString();
        }
    }

    static final class ContextLoaderLowMemoryKiller
            implements LowMemoryKiller
    {
        private final LowMemoryKiller delegate;
        private final ClassLoader loader;

        ContextLoaderLowMemoryKiller(LowMemoryKiller delegate, ClassLoader loader)
        {
            this.delegate = requireNonNull(delegate, "delegate is null");
            this.loader = requireNonNull(loader, "loader is null");
        }

        @Override
        public Optional<KillTarget> chooseTargetToKill(List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.chooseTargetToKill(runningQueries, nodes);
            }
        }

        @Override
        public String toString()
        {
            return delegate.toString();
        }
    }

    static final class ContextLoaderSpillStrategy
            implements SpillStrategy
    {
        private final SpillStrategy delegate;
        private final ClassLoader loader;

        ContextLoaderSpillStrategy(SpillStrategy delegate, ClassLoader loader)
        {
            this.delegate = requireNonNull(delegate, "delegate is null");
            this.loader = requireNonNull(loader, "loader is null");
        }

        @Override
        public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.chooseConsumersToRevoke(pool, consumers, bytesToRevoke);
            }
        }

        @Override
        public String toString()
        {
            return delegate.toString();
        }
    }

    static final class ContextLoaderMemoryLeakDetector
            implements MemoryLeakDetector
    {
        private final MemoryLeakDetector delegate;
        private final ClassLoader loader;

        ContextLoaderMemoryLeakDetector(MemoryLeakDetector delegate, ClassLoader loader)
        {
            this.delegate = requireNonNull(delegate, "delegate is null");
            this.loader = requireNonNull(loader, "loader is null");
        }

        @Override
        public Set<QueryId> checkForLeaks(Map<QueryId, KnownQuery> knownQueries, Map<QueryId, Long> queryReservations)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.checkForLeaks(knownQueries, queryReservations);
            }
        }

        @Override
        public boolean wasQueryPossiblyLeaked(QueryId queryId)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.wasQueryPossiblyLeaked(queryId);
            }
        }

        @Override
        public int numberOfLeakedQueries()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.numberOfLeakedQueries();
            }
        }

        @Override
        public long leakedBytes()
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.leakedBytes();
            }
        }

        @Override
        public void contextCollected(QueryId queryId, TaskId taskId, String tag, long bytes)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                delegate.contextCollected(queryId, taskId, tag, bytes);
            }
        }

        @Override
        public String toString()
        {
            return delegate.toString();
        }
    }
}
