package io.memgov.engine;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import io.memgov.engine.cluster.ClusterMemoryManager;
import io.memgov.engine.config.ConfigurationException;
import io.memgov.engine.config.MemoryEngineConfig;
import io.memgov.engine.node.NodeMemoryManager;
import io.memgov.engine.plugin.PluginLoader;
import io.memgov.engine.plugin.PluginRegistry;
import io.memgov.engine.plugin.PluginSource;
import io.memgov.engine.plugin.PolicySelector;
import io.memgov.engine.plugin.SelectedPolicy;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import jakarta.inject.Named;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;

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

    private final List<ExtraFamily<?, ?>> extraFamilies;

    EngineModule(MemoryEngineConfig config, List<MemoryPlugin> programmaticPlugins, ClassLoader classPathLoader, Clock clock, List<ExtraFamily<?, ?>> extraFamilies)
    {
        this.extraFamilies = List.copyOf(extraFamilies);
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
        PluginRegistry registry = new PluginRegistry(config.families());
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
    PolicySelector policySelector(PluginRegistry registry)
    {
        return new PolicySelector(registry, config);
    }

    @Provides
    @Singleton
    EngineScheduler scheduler()
    {
        return new EngineScheduler();
    }

    @Provides
    @Singleton
    EngineNodes engineNodes(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, QueryFailures failures,
            SelectedPolicy<MemoryLeakDetector> leakDetector)
    {
        List<NodeMemoryManager> nodes = new ArrayList<>();
        Map<NodeId, SelectedPolicy<SpillStrategy>> spillStrategies = new HashMap<>();
        for (int i = 0; i < config.nodeCount(); i++) {
            NodeId nodeId = NodeId.of("node-" + i);
            MetricsSink sink = metrics.sink(nodeId.toString());
            NodeContext context = new NodeContext(nodeId, config.heapBytes(), config.poolBytes(), clock, scheduler.forOwner("node " + nodeId), sink, failures,
                    config.maxQueryTotalMemoryPerNode().map(OptionalLong::of).orElseGet(OptionalLong::empty));
            MemoryPoolLayout layout = policies.create(PolicyFamily.POOL, context).policy();
            SelectedPolicy<MemoryTracker> root = policies.create(PolicyFamily.TRACKER, context);
            if (root.policy().level() != TrackerLevel.NODE) {
                throw new ConfigurationException(String.format(
                        "Memory tracker '%s' from %s returned a %s tracker from create(); it must return the node-level root",
                        root.name(), root.origin(), root.policy().level()));
            }
            long maxTotal = config.maxQueryTotalMemoryPerNode().orElse(Long.MAX_VALUE);
            nodes.add(new NodeMemoryManager(nodeId, layout, root.policy(), clock, config.maxQueryMemoryPerNode(), maxTotal, leakDetector.policy(),
                    config.reservationQuantum()));
            spillStrategies.put(nodeId, policies.create(PolicyFamily.SPILL_STRATEGY, context));
        }
        log.info("Started {} node(s): heap {} each, headroom {}, pool {} ('{}'), per-query per-node limit {}",
                nodes.size(), config.heapBytes(), config.headroomBytes(), config.poolBytes(), policies.selectedName(PolicyFamily.POOL), config.maxQueryMemoryPerNode());
        EngineNodes engineNodes = new EngineNodes(nodes, spillStrategies);
        failures.attach(engineNodes.nodes());
        return engineNodes;
    }

    @Provides
    @Singleton
    @Named("query")
    LowMemoryKiller queryKiller(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics)
    {
        return killer(policies, PolicyFamily.QUERY_KILLER, scheduler, metrics);
    }

    @Provides
    @Singleton
    @Named("task")
    LowMemoryKiller taskKiller(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics)
    {
        return killer(policies, PolicyFamily.TASK_KILLER, scheduler, metrics);
    }

    private LowMemoryKiller killer(PolicySelector policies, PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> family, EngineScheduler scheduler,
            EngineMetrics metrics)
    {
        LowMemoryKillerContext context = new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink(family.policyKey()));
        SelectedPolicy<LowMemoryKiller> killer = policies.create(family, context);
        return new NamedKiller(killer.policy(), killer.name());
    }

    @Provides
    @Singleton
    EngineTransport clusterTransport(EngineNodes nodes, QueryFailures failures, PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics)
    {
        PolicyFamily<ClusterTransportFactory, ClusterTransportContext, ClusterTransport> family = PolicyFamily.CLUSTER_TRANSPORT;
        List<NodeId> localNodes = nodes.nodes().stream().map(NodeMemoryManager::nodeId).toList();
        TransportContext context = new TransportContext(localNodes, config.pollInterval(), failures, clock, scheduler.forOwner(family.displayName()),
                metrics.sink(family.policyKey()));
        return new EngineTransport(policies.create(family, context), context);
    }

    @Provides
    @Singleton
    ClusterMemoryManager clusterMemoryManager(EngineNodes nodes, EngineTransport transport, PolicySelector policies, EngineScheduler scheduler,
            @Named("task") LowMemoryKiller taskKiller, @Named("query") LowMemoryKiller queryKiller, SelectedPolicy<MemoryLeakDetector> leakDetector, EngineMetrics metrics)
    {
        List<NodeMemoryManager> local = nodes.nodes();
        Supplier<List<NodeSnapshot>> localSnapshots = () -> local.stream().map(NodeMemoryManager::snapshot).toList();
        PolicyFamily<MemoryPoolAssignerFactory, MemoryPoolAssignerContext, MemoryPoolAssigner> family = PolicyFamily.POOL_ASSIGNER;
        SelectedPolicy<MemoryPoolAssigner> assigner = policies.create(family,
                new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink("memory-pool-assigner")));
        if (assigner.policy() != MemoryPoolAssigner.NONE) {
            log.info("Memory pool assigner '{}' from {} assigns queries to pools on the cluster loop", assigner.name(), assigner.origin());
        }
        return new ClusterMemoryManager(config, transport.policy(), localSnapshots, taskKiller, queryKiller, leakDetector.policy(), clock, metrics.sink("cluster"),
                assigner.policy());
    }

    @Provides
    @Singleton
    Map<PolicyFamily<?, ?, ?>, SelectedPolicy<?>> extraPolicies(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics)
    {
        Map<PolicyFamily<?, ?, ?>, SelectedPolicy<?>> created = new HashMap<>();
        for (ExtraFamily<?, ?> extra : extraFamilies) {
            PolicyFamily<?, ?, ?> family = extra.family();
            created.put(family, extra.create(policies, new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink(family.policyKey()))));
        }
        return created;
    }

    @Provides
    @Singleton
    SelectedPolicy<MemoryLeakDetector> leakDetector(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics)
    {
        PolicyFamily<MemoryLeakDetectorFactory, MemoryLeakDetectorContext, MemoryLeakDetector> family = PolicyFamily.LEAK_DETECTOR;
        return policies.create(family, new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink(family.policyKey())));
    }
}
