package io.memgov.engine;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import io.memgov.engine.cluster.ClusterMemoryManager;
import io.memgov.engine.cluster.ClusterTransport;
import io.memgov.engine.config.MemoryEngineConfig;
import io.memgov.engine.config.PolicyFamily;
import io.memgov.engine.node.ClusterQueries;
import io.memgov.engine.node.NodeMemoryManager;
import io.memgov.engine.plugin.PluginLoader;
import io.memgov.engine.plugin.PluginRegistry;
import io.memgov.engine.plugin.PluginSource;
import io.memgov.engine.plugin.RegisteredFactory;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import io.memgov.spi.tracker.TrackerLevel;
import jakarta.inject.Named;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.Objects.requireNonNull;

/**
 * Wires the engine: discovers plugins, selects one policy per family and creates each with its context. Policies
 * themselves are never built by the injector; they come from their factories (plugins reach engine services only
 * through their context).
 */
final class EngineModule
        extends AbstractModule
{
    private static final Logger log = LoggerFactory.getLogger(EngineModule.class);

    private final MemoryEngineConfig config;
    private final List<MemoryPlugin> programmaticPlugins;
    private final ClassLoader classPathLoader;
    private final Clock clock;

    EngineModule(MemoryEngineConfig config, List<MemoryPlugin> programmaticPlugins, ClassLoader classPathLoader, Clock clock)
    {
        this.config = requireNonNull(config, "config is null");
        this.programmaticPlugins = List.copyOf(programmaticPlugins);
        this.classPathLoader = classPathLoader;
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    protected void configure()
    {
        bind(MemoryEngineConfig.class).toInstance(config);
        bind(Clock.class).toInstance(clock);
        bind(EngineMetrics.class).in(Singleton.class);
        bind(QueryFailures.class).in(Singleton.class);
    }

    @Provides
    @Singleton
    PluginRegistry pluginRegistry()
    {
        PluginRegistry registry = new PluginRegistry();
        registry.register(new BuiltInPlugin(), new PluginSource("engine (built in)", BuiltInPlugin.class.getClassLoader()));
        PluginLoader loader = new PluginLoader(registry);
        if (classPathLoader != null) {
            loader.loadFromClassPath(classPathLoader);
        }
        loader.loadFromDirectory(config.pluginDir(), config.pluginDirExplicit());
        for (MemoryPlugin plugin : programmaticPlugins) {
            registry.register(plugin, new PluginSource("registered programmatically", plugin.getClass().getClassLoader()));
        }
        return registry;
    }

    @Provides
    @Singleton
    ClusterQueries clusterQueries()
    {
        return new ClusterQueries(clock);
    }

    @Provides
    @Singleton
    ScheduledExecutorService scheduler()
    {
        AtomicInteger threads = new AtomicInteger();
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(2, runnable -> {
            Thread thread = new Thread(runnable, "memgov-scheduler-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }

    @Provides
    @Singleton
    EngineNodes engineNodes(PluginRegistry registry, ScheduledExecutorService scheduler, EngineMetrics metrics, QueryFailures failures, ClusterQueries clusterQueries,
            MemoryLeakDetector leakDetector)
    {
        RegisteredFactory<MemoryPoolFactory> poolFactory = selectRequired(registry, PolicyFamily.POOL);
        RegisteredFactory<MemoryTrackerFactory> trackerFactory = selectRequired(registry, PolicyFamily.TRACKER);
        Optional<RegisteredFactory<SpillStrategyFactory>> spillFactory = selectOrFallBack(registry, PolicyFamily.SPILL_STRATEGY, BuiltInPlugin.NONE);
        List<NodeMemoryManager> nodes = new ArrayList<>();
        Map<NodeId, SpillStrategy> spillStrategies = new HashMap<>();
        for (int i = 0; i < config.nodeCount(); i++) {
            NodeId nodeId = NodeId.of("node-" + i);
            MetricsSink sink = metrics.sink(nodeId.toString());
            NodeContext context = new NodeContext(nodeId, config.heapBytes(), config.poolBytes(), clock, scheduler, sink, failures,
                    config.maxQueryTotalMemoryPerNode().map(java.util.OptionalLong::of).orElseGet(java.util.OptionalLong::empty));
            io.memgov.spi.pool.MemoryPoolLayout created = PluginRegistry.create(PolicyFamily.POOL, poolFactory,
                    factory -> factory.createLayout(config.policyConfig(PolicyFamily.POOL), context));
            // each pool goes through the registry too, so that a drop-in plugin's pools run with its context loader
            io.memgov.spi.pool.MemoryPoolLayout layout = new io.memgov.spi.pool.MemoryPoolLayout(created.pools().stream()
                    .map(pool -> PluginRegistry.<MemoryPoolFactory, MemoryPool>create(PolicyFamily.POOL, poolFactory, ignored -> pool))
                    .toList());
            MemoryTracker root = PluginRegistry.create(PolicyFamily.TRACKER, trackerFactory,
                    factory -> factory.create(config.policyConfig(PolicyFamily.TRACKER), context));
            if (root.level() != TrackerLevel.NODE) {
                throw new io.memgov.engine.config.ConfigurationException(String.format(
                        "Memory tracker '%s' from %s returned a %s tracker from create(); it must return the node-level root",
                        trackerFactory.name(), trackerFactory.origin(), root.level()));
            }
            long maxTotal = config.maxQueryTotalMemoryPerNode().orElse(Long.MAX_VALUE);
            nodes.add(new NodeMemoryManager(nodeId, layout, root, clock, config.maxQueryMemoryPerNode(), maxTotal, clusterQueries, leakDetector,
                    config.reservationQuantum()));
            spillFactory.ifPresent(factory -> spillStrategies.put(nodeId, PluginRegistry.create(PolicyFamily.SPILL_STRATEGY, factory,
                    spill -> spill.create(config.policyConfig(PolicyFamily.SPILL_STRATEGY), context))));
        }
        log.info("Started {} node(s): heap {} each, headroom {}, pool {} ('{}'), per-query per-node limit {}",
                nodes.size(), config.heapBytes(), config.headroomBytes(), config.poolBytes(), poolFactory.name(), config.maxQueryMemoryPerNode());
        EngineNodes engineNodes = new EngineNodes(nodes, spillStrategies);
        failures.attach(engineNodes.nodes());
        return engineNodes;
    }

    @Provides
    @Singleton
    @Named("query")
    LowMemoryKiller queryKiller(PluginRegistry registry, ScheduledExecutorService scheduler, EngineMetrics metrics)
    {
        return killer(registry, PolicyFamily.QUERY_KILLER, scheduler, metrics);
    }

    @Provides
    @Singleton
    @Named("task")
    LowMemoryKiller taskKiller(PluginRegistry registry, ScheduledExecutorService scheduler, EngineMetrics metrics)
    {
        return killer(registry, PolicyFamily.TASK_KILLER, scheduler, metrics);
    }

    private LowMemoryKiller killer(PluginRegistry registry, PolicyFamily family, ScheduledExecutorService scheduler, EngineMetrics metrics)
    {
        Optional<RegisteredFactory<LowMemoryKillerFactory>> factory = selectOrFallBack(registry, family, null);
        if (factory.isEmpty()) {
            return (queries, nodes) -> Optional.empty();
        }
        MetricsSink sink = metrics.sink(family.policyKey());
        LowMemoryKillerContext context = new ClusterContext(clock, scheduler, sink);
        LowMemoryKiller killer = PluginRegistry.create(family, factory.get(), created -> created.create(config.policyConfig(family), context));
        return new NamedKiller(killer, factory.get().name());
    }

    @Provides
    @Singleton
    ClusterMemoryManager clusterMemoryManager(EngineNodes nodes, ClusterQueries queries, QueryFailures failures, PluginRegistry registry, ScheduledExecutorService scheduler,
            @Named("task") LowMemoryKiller taskKiller, @Named("query") LowMemoryKiller queryKiller, MemoryLeakDetector leakDetector, EngineMetrics metrics)
    {
        ClusterTransport transport = new EmbeddedClusterTransport(nodes.nodes(), queries, failures, clock);
        return new ClusterMemoryManager(config, transport, queries, taskKiller, queryKiller, leakDetector, clock, metrics.sink("cluster"),
                MemoryPoolAssigners.create(registry, config, clock, scheduler, metrics));
    }

    @Provides
    @Singleton
    MemoryLeakDetector leakDetector(PluginRegistry registry, ScheduledExecutorService scheduler, EngineMetrics metrics)
    {
        PolicyFamily family = PolicyFamily.LEAK_DETECTOR;
        RegisteredFactory<MemoryLeakDetectorFactory> factory = this.<MemoryLeakDetectorFactory>selectOrFallBack(registry, family, BuiltInPlugin.NONE).orElseThrow();
        MemoryLeakDetectorContext context = new ClusterContext(clock, scheduler, metrics.sink(family.policyKey()));
        return PluginRegistry.create(family, factory, created -> created.create(config.policyConfig(family), context));
    }

    private <F> RegisteredFactory<F> selectRequired(PluginRegistry registry, PolicyFamily family)
    {
        RegisteredFactory<F> factory = registry.require(family, config.policy(family));
        log.info("Selected {} '{}' from {}", family.displayName(), factory.name(), factory.origin());
        return factory;
    }

    /**
     * The selected policy. A policy set explicitly must exist; a default that no plugin offers falls back to
     * {@code fallback} (or to nothing when null), with a log line, so that a bare engine starts.
     */
    private <F> Optional<RegisteredFactory<F>> selectOrFallBack(PluginRegistry registry, PolicyFamily family, String fallback)
    {
        String name = config.policy(family);
        Optional<RegisteredFactory<F>> found = registry.find(family, name);
        if (found.isPresent()) {
            log.info("Selected {} '{}' from {}", family.displayName(), name, found.get().origin());
            return found;
        }
        if (config.isExplicit(family)) {
            throw new io.memgov.engine.config.ConfigurationException(registry.notRegisteredMessage(family, name));
        }
        if (!config.policyConfig(family).isEmpty()) {
            throw new io.memgov.engine.config.ConfigurationException(String.format(
                    "Configuration keys %s configure the default %s '%s', which is not registered. Available: %s",
                    config.policyConfig(family).keySet(), family.displayName(), name, registry.describe(family)));
        }
        log.info("Default {} '{}' is not registered ('{}' not set); using '{}'. Available: {}",
                family.displayName(), name, family.policyKey(), fallback == null ? "none" : fallback, registry.describe(family));
        return fallback == null ? Optional.empty() : registry.find(family, fallback);
    }
}
