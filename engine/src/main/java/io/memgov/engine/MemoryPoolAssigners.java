package io.memgov.engine;

import io.memgov.engine.config.MemoryEngineConfig;
import io.memgov.engine.config.PolicyFamily;
import io.memgov.engine.plugin.PluginRegistry;
import io.memgov.engine.plugin.RegisteredFactory;
import io.memgov.engine.plugin.ThreadContextClassLoader;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.assignment.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.query.QueryId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

import static java.util.Objects.requireNonNull;

/**
 * Finds the cluster loop's {@link MemoryPoolAssigner}: the selected pool policy's factory offers one when it also
 * implements {@link MemoryPoolAssignerFactory}; otherwise there is none ({@link MemoryPoolAssigner#NONE}).
 */
final class MemoryPoolAssigners
{
    private static final Logger log = LoggerFactory.getLogger(MemoryPoolAssigners.class);

    private MemoryPoolAssigners() {}

    static MemoryPoolAssigner create(PluginRegistry registry, MemoryEngineConfig config, Clock clock, ScheduledExecutorService scheduler, EngineMetrics metrics)
    {
        RegisteredFactory<MemoryPoolFactory> registration = registry.require(PolicyFamily.POOL, config.policy(PolicyFamily.POOL));
        if (!(registration.factory() instanceof MemoryPoolAssignerFactory)) {
            return MemoryPoolAssigner.NONE;
        }
        MetricsSink sink = metrics.sink("memory-pool-assigner");
        MemoryPoolAssignerContext context = new Context(clock, scheduler, sink);
        MemoryPoolAssigner assigner = PluginRegistry.create(PolicyFamily.POOL, registration,
                factory -> ((MemoryPoolAssignerFactory) factory).createAssigner(config.policyConfig(PolicyFamily.POOL), context));
        log.info("Memory pool '{}' from {} assigns queries to pools on the cluster loop", registration.name(), registration.origin());
        ClassLoader loader = registration.source().classLoader();
        if (loader == MemoryPoolAssigners.class.getClassLoader()) {
            return assigner;
        }
        return new ContextLoaderAssigner(assigner, loader, registration.name());
    }

    private record Context(Clock clock, ScheduledExecutorService scheduler, MetricsSink metrics)
            implements MemoryPoolAssignerContext
    {
        Context
        {
            requireNonNull(clock, "clock is null");
            requireNonNull(scheduler, "scheduler is null");
            requireNonNull(metrics, "metrics is null");
        }
    }

    /** Runs a drop-in plugin's assigner with the plugin's class loader as thread context loader. */
    private record ContextLoaderAssigner(MemoryPoolAssigner delegate, ClassLoader loader, String name)
            implements MemoryPoolAssigner
    {
        @Override
        public Map<QueryId, String> assign(List<NodeMemoryInfo> nodes, List<RunningQueryInfo> runningQueries, MemoryPoolAssignment current)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.assign(nodes, runningQueries, current);
            }
        }

        @Override
        public boolean isOutOfMemory(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.isOutOfMemory(nodes, current);
            }
        }

        @Override
        public boolean isVisibleToKillers(String poolId)
        {
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
                return delegate.isVisibleToKillers(poolId);
            }
        }

        @Override
        public String toString()
        {
            return name;
        }
    }
}
