package io.memgov.engine;

import dagger.Lazy;
import dagger.Module;
import dagger.Provides;
import io.memgov.engine.ConfigurationException;
import io.memgov.engine.MemoryEngineConfig;
import io.memgov.engine.SelectedPolicy;
import io.memgov.engine.internal.arbitration.ArbitrationStatistics;
import io.memgov.engine.internal.arbitration.NodeArbitration;
import io.memgov.engine.internal.cluster.ClusterMemoryManager;
import io.memgov.engine.internal.cluster.ClusterPolicies;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.engine.internal.heap.HeapGovernor;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.plugin.PluginLoader;
import io.memgov.engine.internal.plugin.PluginRegistry;
import io.memgov.engine.internal.plugin.PluginSource;
import io.memgov.engine.internal.plugin.PolicySelector;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.arbitration.MemoryArbitrator;
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
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;


/**
 * The engine's wiring, top to bottom: configuration → plugin registry → policy selection → scheduler and metrics →
 * per-node policies and nodes → cluster policies (leak detector, killers, pool assigner) → transport → cluster loop →
 * revoking schedulers. Dagger generates the graph from these methods at compile time; each is called once. Policies
 * are never built by the graph: they come from their factories, with their contexts (plugins reach engine services
 * only through those). Nothing here starts a thread or registers anything: {@link MemoryEngine#start()} does.
 */
@Module
final class EngineModule
{
    private static final Logger log = LoggerFactory.getLogger(EngineModule.class);

    private EngineModule() {}

    @Provides
    static Clock clock(EngineSetup setup)
    {
        return setup.clock();
    }

    @Provides
    @Singleton
    static PluginRegistry pluginRegistry(MemoryEngineConfig config, EngineSetup setup)
    {
        PluginRegistry registry = new PluginRegistry(config.families());
        registry.register(new BuiltInPlugin(), new PluginSource("engine (built in)", BuiltInPlugin.class.getClassLoader()));
        PluginLoader loader = new PluginLoader(registry);
        setup.classPathLoader().ifPresent(loader::loadFromClassPath);
        loader.loadFromDirectory(config.pluginDir(), config.pluginDirExplicit());
        for (MemoryPlugin plugin : setup.plugins()) {
            registry.register(plugin, new PluginSource("registered programmatically", plugin.getClass().getClassLoader()));
        }
        return registry;
    }

    @Provides
    @Singleton
    static PolicySelector policySelector(PluginRegistry registry, MemoryEngineConfig config)
    {
        return new PolicySelector(registry, config);
    }

    @Provides
    @Singleton
    static EngineScheduler scheduler()
    {
        return new EngineScheduler();
    }

    @Provides
    @Singleton
    static PolicyCallGuard policyCallGuard(MemoryEngineConfig config)
    {
        return new PolicyCallGuard(config.policyCallTimeout());
    }

    @Provides
    @Singleton
    static EngineMetrics metrics()
    {
        return new EngineMetrics();
    }

    @Provides
    @Singleton
    static SelectedPolicy<MemoryLeakDetector> leakDetector(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, Clock clock)
    {
        PolicyFamily<MemoryLeakDetectorFactory, MemoryLeakDetectorContext, MemoryLeakDetector> family = PolicyFamily.LEAK_DETECTOR;
        return policies.create(family, new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink(family.policyKey())));
    }

    /**
     * The nodes with their per-node policies. A node's policies fail queries through the engine (so the query fails on
     * every node and the host hears once), which is built from the nodes: they reach it through a provider.
     */
    @Provides
    @Singleton
    static EngineNodes engineNodes(MemoryEngineConfig config, PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, Clock clock,
            Lazy<QueryFailures> failures, SelectedPolicy<MemoryLeakDetector> leakDetector)
    {
        QueryFailer failer = (queryId, errorCode, message) -> failures.get().fail(queryId, errorCode, message);
        OptionalLong maxTotalPerNode = config.maxQueryTotalMemoryPerNode().map(OptionalLong::of).orElseGet(OptionalLong::empty);
        List<NodeMemoryManager> nodes = new ArrayList<>();
        Map<NodeId, SelectedPolicy<SpillStrategy>> spillStrategies = new HashMap<>();
        Map<NodeId, SelectedPolicy<MemoryArbitrator>> arbitrators = new HashMap<>();
        for (int i = 0; i < config.nodeCount(); i++) {
            NodeId nodeId = config.nodeId(i);
            NodeContext context = new NodeContext(nodeId, config.heapBytes(), config.poolBytes(), clock, scheduler.forOwner("node " + nodeId),
                    metrics.sink(nodeId.toString()), failer, maxTotalPerNode);
            MemoryPoolLayout layout = policies.create(PolicyFamily.POOL, context).policy();
            SelectedPolicy<MemoryTracker> root = policies.create(PolicyFamily.TRACKER, context);
            if (root.policy().level() != TrackerLevel.NODE) {
                throw new ConfigurationException(String.format(
                        "Memory tracker '%s' from %s returned a %s tracker from create(); it must return the node-level root",
                        root.name(), root.origin(), root.policy().level()));
            }
            long maxTotal = config.maxQueryTotalMemoryPerNode().orElse(Long.MAX_VALUE);
            NodeMemoryManager node = new NodeMemoryManager(nodeId, layout, root.policy(), clock, config.maxQueryMemoryPerNode(), maxTotal, leakDetector.policy(),
                    config.reservationQuantum());
            config.maxQueryRevocableMemoryPerNode().ifPresent(node::setMaxQueryRevocableMemoryPerNode);
            config.maxQueryBroadcastMemory().ifPresent(node::setMaxQueryBroadcastMemory);
            if (config.directMemoryBytes() > 0) {
                // always the fixed pool: the pool policies (reserve mode, the reserved pool) and the heap observer are the heap's
                node.setDirectPool(new FixedMemoryPool(MemoryEngineConfig.DIRECT_POOL_ID, config.directMemoryBytes()), config.maxQueryDirectMemoryPerNode());
            }
            nodes.add(node);
            spillStrategies.put(nodeId, policies.create(PolicyFamily.SPILL_STRATEGY, context));
            arbitrators.put(nodeId, policies.create(PolicyFamily.ARBITRATOR, context));
        }
        log.info("Started {} node(s): heap {} each, headroom {}, pool {} ('{}'), per-query per-node limit {}, direct pool {}",
                nodes.size(), config.heapBytes(), config.headroomBytes(), config.poolBytes(), policies.selectedName(PolicyFamily.POOL), config.maxQueryMemoryPerNode(),
                config.directMemoryBytes() == 0 ? "none" : config.directMemoryBytes() + " (per-query limit " + config.maxQueryDirectMemoryPerNode() + ")");
        return new EngineNodes(nodes, spillStrategies, arbitrators);
    }

    @Provides
    @Singleton
    static QueryFailures queryFailures(EngineNodes nodes)
    {
        return new QueryFailures(nodes.nodes());
    }

    @Provides
    @Singleton
    @Named("task")
    static LowMemoryKiller taskKiller(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, Clock clock)
    {
        return killer(policies, PolicyFamily.TASK_KILLER, scheduler, metrics, clock);
    }

    @Provides
    @Singleton
    @Named("query")
    static LowMemoryKiller queryKiller(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, Clock clock)
    {
        return killer(policies, PolicyFamily.QUERY_KILLER, scheduler, metrics, clock);
    }

    private static LowMemoryKiller killer(PolicySelector policies, PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> family,
            EngineScheduler scheduler, EngineMetrics metrics, Clock clock)
    {
        LowMemoryKillerContext context = new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink(family.policyKey()));
        SelectedPolicy<LowMemoryKiller> killer = policies.create(family, context);
        return new NamedKiller(killer.policy(), killer.name());
    }

    @Provides
    @Singleton
    static SelectedPolicy<MemoryPoolAssigner> poolAssigner(PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, Clock clock)
    {
        PolicyFamily<MemoryPoolAssignerFactory, MemoryPoolAssignerContext, MemoryPoolAssigner> family = PolicyFamily.POOL_ASSIGNER;
        SelectedPolicy<MemoryPoolAssigner> assigner = policies.create(family, new ClusterContext(clock, scheduler.forOwner(family.displayName()),
                metrics.sink("memory-pool-assigner")));
        if (assigner.policy() != MemoryPoolAssigner.NONE) {
            log.info("Memory pool assigner '{}' from {} assigns queries to pools on the cluster loop", assigner.name(), assigner.origin());
        }
        return assigner;
    }

    @Provides
    @Singleton
    static EngineTransport clusterTransport(MemoryEngineConfig config, EngineNodes nodes, QueryFailures failures, PolicySelector policies, EngineScheduler scheduler,
            EngineMetrics metrics, Clock clock)
    {
        PolicyFamily<ClusterTransportFactory, ClusterTransportContext, ClusterTransport> family = PolicyFamily.CLUSTER_TRANSPORT;
        List<NodeId> localNodes = nodes.nodes().stream().map(NodeMemoryManager::nodeId).toList();
        TransportContext context = new TransportContext(localNodes, config.pollInterval(), failures, clock, scheduler.forOwner(family.displayName()),
                metrics.sink(family.policyKey()));
        return new EngineTransport(policies.create(family, context), context);
    }

    @Provides
    @Singleton
    static ClusterMemoryManager clusterMemoryManager(MemoryEngineConfig config, EngineNodes nodes, EngineTransport transport, @Named("task") LowMemoryKiller taskKiller,
            @Named("query") LowMemoryKiller queryKiller, SelectedPolicy<MemoryLeakDetector> leakDetector, SelectedPolicy<MemoryPoolAssigner> assigner,
            PolicyCallGuard guard, EngineMetrics metrics, Clock clock)
    {
        List<NodeMemoryManager> local = nodes.nodes();
        Supplier<List<NodeSnapshot>> localSnapshots = () -> local.stream().map(NodeMemoryManager::snapshot).toList();
        ClusterPolicies clusterPolicies = new ClusterPolicies(taskKiller, taskKiller.toString(), queryKiller, queryKiller.toString(), leakDetector.policy(),
                leakDetector.name(), assigner.policy(), assigner.name());
        return new ClusterMemoryManager(config, transport.policy(), localSnapshots, clock, metrics.sink("cluster"), clusterPolicies, guard);
    }

    @Provides
    @Singleton
    static RevokingSchedulers revokingSchedulers(MemoryEngineConfig config, EngineNodes nodes, QueryFailures failures, EngineScheduler scheduler, PolicyCallGuard guard)
    {
        Map<NodeId, MemoryRevokingScheduler> schedulers = new LinkedHashMap<>();
        for (NodeMemoryManager node : nodes.nodes()) {
            SelectedPolicy<SpillStrategy> strategy = nodes.spillStrategies().get(node.nodeId());
            if (strategy.policy() == SpillStrategy.NONE) {
                continue;
            }
            schedulers.put(node.nodeId(), new MemoryRevokingScheduler(node, new NamedSpillStrategy(strategy.policy(), strategy.name()), config.revokingThreshold(),
                    config.revokingTarget(), scheduler.executor(), MemoryRevokingScheduler.DEFAULT_CHECK_INTERVAL, failures::fail, guard,
                    "spill strategy '" + strategy.name() + "' of " + node.nodeId()));
        }
        return new RevokingSchedulers(schedulers);
    }

    /**
     * Each node's arbitration, listening to the node's blocked reservations from now on; the engine's close() stops
     * them.
     */
    @Provides
    @Singleton
    static NodeArbitrations nodeArbitrations(EngineNodes nodes, QueryFailures failures, PolicyCallGuard guard, PolicySelector policies, EngineMetrics metrics,
            Clock clock)
    {
        String name = policies.selectedName(PolicyFamily.ARBITRATOR);
        ArbitrationStatistics statistics = new ArbitrationStatistics(name, metrics.sink(PolicyFamily.ARBITRATOR.policyKey()));
        List<NodeArbitration> arbitrations = new ArrayList<>();
        for (NodeMemoryManager node : nodes.nodes()) {
            SelectedPolicy<MemoryArbitrator> arbitrator = nodes.arbitrators().get(node.nodeId());
            NodeArbitration arbitration = new NodeArbitration(node, arbitrator.policy(), arbitrator.name(), guard, failures::fail, clock, statistics);
            node.onBlockedReservation(arbitration);
            arbitrations.add(arbitration);
        }
        if (!name.equals(PolicyFamily.ARBITRATOR.defaultPolicy())) {
            log.info("Memory arbitrator '{}' resolves blocked reservations on each node", name);
        }
        return new NodeArbitrations(arbitrations, statistics);
    }

    /** Starts observing the heap; the engine's close() stops it. */
    @Provides
    @Singleton
    static HeapGovernor heapGovernor(MemoryEngineConfig config, EngineNodes nodes, RevokingSchedulers revokingSchedulers, QueryFailures failures,
            EngineScheduler scheduler, EngineMetrics metrics)
    {
        List<HeapGovernor.GovernedNode> governed = nodes.nodes().stream()
                .map(node -> new HeapGovernor.GovernedNode(node, config.heapBytes(), config.headroomBytes()))
                .toList();
        return HeapGovernor.start(config.heapSettings(), config.heapGoverned(), governed, revokingSchedulers.byNode(), failures::fail,
                scheduler.executor(), metrics.sink("heap"));
    }

    @Provides
    @Singleton
    static ExtraPolicies extraPolicies(EngineSetup setup, PolicySelector policies, EngineScheduler scheduler, EngineMetrics metrics, Clock clock)
    {
        Map<PolicyFamily<?, ?, ?>, SelectedPolicy<?>> created = new HashMap<>();
        for (ExtraFamily<?, ?> extra : setup.extraFamilies()) {
            PolicyFamily<?, ?, ?> family = extra.family();
            created.put(family, extra.create(policies, new ClusterContext(clock, scheduler.forOwner(family.displayName()), metrics.sink(family.policyKey()))));
        }
        return new ExtraPolicies(created);
    }
}
