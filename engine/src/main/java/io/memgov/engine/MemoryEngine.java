package io.memgov.engine;

import io.memgov.engine.ClusterMemorySnapshot;
import io.memgov.engine.ConfigurationException;
import io.memgov.engine.MemoryEngineConfig;
import io.memgov.engine.NodeMemorySnapshot;
import io.memgov.engine.SelectedPolicy;
import io.memgov.engine.internal.cluster.ClusterMemoryManager;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.plugin.PluginRegistry;
import io.memgov.engine.internal.plugin.PolicySelector;
import io.memgov.engine.internal.plugin.RegistryListing;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler;
import io.memgov.engine.internal.visibility.ClusterMemoryStats;
import io.memgov.engine.internal.visibility.JmxExporter;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.SpillStrategy;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ScheduledExecutorService;
import static java.util.Objects.requireNonNull;
import io.memgov.engine.internal.arbitration.NodeArbitration;
import io.memgov.engine.internal.heap.HeapGovernor;



/**
 * The memgov engine: the nodes of an embedded cluster (one, for a plain worker), each with its pool and tracker, and
 * the selected killers, leak detector and spill strategies. Built from properties by {@link #builder()}:
 *
 * <pre>{@code
 * try (MemoryEngine engine = MemoryEngine.builder().properties(properties).build()) {
 *     NodeMemoryManager node = engine.node(0);
 *     QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
 *     ...
 * }
 * }</pre>
 *
 * Thread-safe. {@link #close()} stops the engine's threads and ends its accounting: what open contexts still hold
 * is released, and from then on their changes, and new queries, tasks and operators, fail with an
 * {@link IllegalStateException}; closing the contexts still works.
 */
public final class MemoryEngine
        implements AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(MemoryEngine.class);

    private final MemoryEngineConfig config;
    private final EngineSetup setup;
    private final PluginRegistry registry;
    private final PolicySelector policies;
    private final EngineScheduler scheduler;
    private final EngineMetrics metrics;
    private final List<NodeMemoryManager> nodes;
    private final Map<NodeId, SelectedPolicy<SpillStrategy>> spillStrategies;
    private final MemoryLeakDetector leakDetector;
    private final LowMemoryKiller taskKiller;
    private final LowMemoryKiller queryKiller;
    private final QueryFailures failures;
    private final EngineTransport transport;
    private final ClusterMemoryManager clusterMemoryManager;
    private final RevokingSchedulers revokingSchedulers;
    private final ExtraPolicies extraPolicies;
    private final PolicyCallGuard guard;
    private final HeapGovernor heapGovernor;
    private final NodeArbitrations arbitrations;
    // registered by start(); null until then, and when JMX export is off
    private volatile JmxExporter jmx;

    @Inject
    MemoryEngine(
            MemoryEngineConfig config,
            EngineSetup setup,
            PluginRegistry registry,
            PolicySelector policies,
            EngineScheduler scheduler,
            EngineMetrics metrics,
            EngineNodes engineNodes,
            SelectedPolicy<MemoryLeakDetector> leakDetector,
            @Named("task") LowMemoryKiller taskKiller,
            @Named("query") LowMemoryKiller queryKiller,
            QueryFailures failures,
            EngineTransport transport,
            ClusterMemoryManager clusterMemoryManager,
            RevokingSchedulers revokingSchedulers,
            ExtraPolicies extraPolicies,
            PolicyCallGuard guard,
            HeapGovernor heapGovernor,
            NodeArbitrations arbitrations)
    {
        this.config = requireNonNull(config, "config is null");
        this.setup = requireNonNull(setup, "setup is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.policies = requireNonNull(policies, "policies is null");
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.nodes = engineNodes.nodes();
        this.spillStrategies = engineNodes.spillStrategies();
        this.leakDetector = requireNonNull(leakDetector, "leakDetector is null").policy();
        this.taskKiller = requireNonNull(taskKiller, "taskKiller is null");
        this.queryKiller = requireNonNull(queryKiller, "queryKiller is null");
        this.failures = requireNonNull(failures, "failures is null");
        this.transport = requireNonNull(transport, "transport is null");
        this.clusterMemoryManager = requireNonNull(clusterMemoryManager, "clusterMemoryManager is null");
        this.revokingSchedulers = requireNonNull(revokingSchedulers, "revokingSchedulers is null");
        this.extraPolicies = requireNonNull(extraPolicies, "extraPolicies is null");
        this.guard = requireNonNull(guard, "guard is null");
        this.heapGovernor = requireNonNull(heapGovernor, "heapGovernor is null");
        this.arbitrations = requireNonNull(arbitrations, "arbitrations is null");
    }

    /**
     * Starts what needs a running engine, in order: the cluster transport, the MBeans, the cluster loop and each
     * node's revoking scheduler. Called once, by the builder.
     */
    private void start()
    {
        transport.start();
        setup.jmxName().ifPresent(name -> jmx = JmxExporter.export(ManagementFactory.getPlatformMBeanServer(), name, nodes, clusterMemoryManager,
                heapGovernor::snapshot, arbitrations.statistics()::snapshot));
        clusterMemoryManager.start(scheduler.executor());
        revokingSchedulers.byNode().values().forEach(MemoryRevokingScheduler::start);
    }

    public static Builder builder()
    {
        return new Builder();
    }

    public MemoryEngineConfig config()
    {
        return config;
    }

    /** Every policy the plugins offered, by family, with where it came from. */
    public PluginListing plugins()
    {
        return new RegistryListing(registry);
    }

    public Clock clock()
    {
        return setup.clock();
    }

    /** The nodes, in order ({@code node-0}, {@code node-1}, ...). */
    public List<NodeMemory> nodes()
    {
        return List.copyOf(nodes);
    }

    public NodeMemory node(int index)
    {
        return nodes.get(index);
    }

    /** The node's spill strategy. */
    public SpillStrategy spillStrategy(NodeId nodeId)
    {
        return spillStrategies.get(nodeId).policy();
    }

    /** The node's revoking scheduler, which asks its operators to give back revocable memory when its pool fills. */
    public Optional<MemoryRevoker> revokingScheduler(NodeId nodeId)
    {
        return Optional.ofNullable(revokingSchedulers.byNode().get(nodeId));
    }

    /**
     * The name of the policy selected for the family: what its key says, or the default, or {@code none} when the
     * family fell back to its built-in.
     */
    public String policyName(PolicyFamily<?, ?, ?> family)
    {
        return policies.selectedName(requireNonNull(family, "family is null"));
    }

    /**
     * The policy of a family added with {@link Builder#family}, as its factory created it (wrapped for its plugin's
     * class loader when it has one of its own).
     *
     * @throws IllegalArgumentException if the family was not added to this engine's builder
     */
    public <P> SelectedPolicy<P> policy(PolicyFamily<?, ?, P> family)
    {
        SelectedPolicy<?> selected = extraPolicies.byFamily().get(requireNonNull(family, "family is null"));
        if (selected == null) {
            throw new IllegalArgumentException("family " + family + " was not added to this engine");
        }
        return new SelectedPolicy<>(selected.name(), selected.origin(), family.productType().cast(selected.policy()));
    }

    public LowMemoryKiller queryKiller()
    {
        return queryKiller;
    }

    public LowMemoryKiller taskKiller()
    {
        return taskKiller;
    }

    public MemoryLeakDetector leakDetector()
    {
        return leakDetector;
    }

    public EngineMetrics metrics()
    {
        return metrics;
    }

    /** The cluster loop: its counters and last decisions, and {@link ClusterMemory#process()} to run a round now. */
    public ClusterMemory cluster()
    {
        return clusterMemoryManager;
    }

    ScheduledExecutorService scheduler()
    {
        return scheduler.executor();
    }

    /** One node's memory: every pool with its per-query, per-task and per-tag reservations. */
    public NodeMemorySnapshot nodeMemorySnapshot(int nodeIndex)
    {
        return NodeMemorySnapshot.of(node(nodeIndex).info());
    }

    /** The cluster's memory: each pool summed over the nodes, the loop's counters, and every node's view. */
    public ClusterMemorySnapshot clusterMemorySnapshot()
    {
        return ClusterMemorySnapshot.of(nodes.stream().map(NodeMemoryManager::info).toList(), new ClusterMemoryStats(clusterMemoryManager), heapGovernor.snapshot());
    }

    /**
     * The real heap as the engine follows it: live and untracked figures as of the last garbage collection, each
     * node's effective pool maximum, and GC pressure ({@code memory.heap.*}).
     */
    public HeapMemorySnapshot heapSnapshot()
    {
        return heapGovernor.snapshot();
    }

    /**
     * What the nodes' arbitration ({@code memory.arbitrator.policy}) did since the engine started: blocked
     * reservations, plans, what each kind of step freed, and the time from a blocked reservation to its relief.
     */
    public ArbitrationSnapshot arbitrationSnapshot()
    {
        return arbitrations.statistics().snapshot();
    }

    /**
     * The {@code engine} key of this engine's MBeans ({@code io.memgov:type=ClusterMemoryManager,engine=<name>}), or
     * empty when JMX export was turned off.
     */
    public Optional<String> jmxName()
    {
        JmxExporter exporter = jmx;
        return exporter == null ? Optional.empty() : Optional.of(exporter.engineName());
    }

    /** Registers a listener told about every query or task that memory governance fails. */
    public void addQueryFailureListener(QueryFailureListener listener)
    {
        failures.addListener(listener);
    }

    /**
     * Fails a query on every node, releasing what it holds, and tells the listeners. The first failure is kept.
     *
     * @return true if the query ran on some node and this call failed it; of several calls failing one query at once, only
     *         the one that reports it (to the listeners, once) returns true
     */
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        return failures.fail(queryId, errorCode, message);
    }

    @Override
    public void close()
    {
        heapGovernor.close();
        arbitrations.byNode().forEach(NodeArbitration::close);
        revokingSchedulers.byNode().values().forEach(MemoryRevokingScheduler::close);
        clusterMemoryManager.close();
        // after the loops stopped, so that no revoke or kill runs on the released contexts
        nodes.forEach(NodeMemoryManager::engineClosed);
        // a transport that blocks in close() must not keep the host from stopping
        guard.run("cluster transport '" + transport.transport().name() + "'", "it is left as it is", transport.policy()::close);
        JmxExporter exporter = jmx;
        if (exporter != null) {
            exporter.close();
        }
        scheduler.close();
        guard.close();
    }

    /**
     * Builds an engine: reads the configuration, discovers plugins on the class path and in {@code plugin.dir},
     * adds the ones registered programmatically, selects one policy per family and wires everything ({@code EngineComponent}).
     */
    public static final class Builder
    {
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final List<MemoryPlugin> plugins = new ArrayList<>();
        private ClassLoader classPathLoader = MemoryEngine.class.getClassLoader();
        private boolean classPathDiscovery = true;
        private String jmxName = "memgov";
        private boolean jmxExport = true;
        private Clock clock = Clock.systemUTC();
        private final List<ExtraFamily<?, ?>> extraFamilies = new ArrayList<>();

        private Builder() {}

        /**
         * Adds a policy family of the host's own, beside memgov's: its policies are discovered in plugins like any
         * other, selected by its key, created once per engine with a {@link io.memgov.spi.policy.PolicyContext}
         * (clock, scheduler, metrics), wrapped for their plugin's class loader, and available from
         * {@link MemoryEngine#policy}.
         */
        public <F extends PolicyFactory<PolicyContext, P>, P> Builder family(PolicyFamily<F, PolicyContext, P> family)
        {
            requireNonNull(family, "family is null");
            if (PolicyFamily.values().contains(family) || extraFamilies.stream().anyMatch(extra -> extra.family() == family)) {
                throw new IllegalArgumentException("family " + family + " is already known");
            }
            extraFamilies.add(new ExtraFamily<>(family));
            return this;
        }

        public Builder properties(Properties properties)
        {
            requireNonNull(properties, "properties is null");
            for (String name : properties.stringPropertyNames()) {
                this.properties.put(name, properties.getProperty(name));
            }
            return this;
        }

        public Builder properties(Map<String, String> properties)
        {
            this.properties.putAll(requireNonNull(properties, "properties is null"));
            return this;
        }

        public Builder property(String key, String value)
        {
            properties.put(requireNonNull(key, "key is null"), requireNonNull(value, "value is null"));
            return this;
        }

        /** Reads a properties file. */
        public Builder propertiesFile(Path file)
        {
            requireNonNull(file, "file is null");
            Properties loaded = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                loaded.load(in);
            }
            catch (IOException e) {
                throw new ConfigurationException("Cannot read configuration file '" + file.toAbsolutePath() + "': " + e, e);
            }
            return properties(loaded);
        }

        /** Registers a plugin directly, beside the ones discovered (tests, embedding hosts). */
        public Builder plugin(MemoryPlugin plugin)
        {
            plugins.add(requireNonNull(plugin, "plugin is null"));
            return this;
        }

        /** The loader searched with {@link java.util.ServiceLoader}; the engine's own loader by default. */
        public Builder classPathLoader(ClassLoader loader)
        {
            this.classPathLoader = requireNonNull(loader, "loader is null");
            return this;
        }

        /** Turns class-path discovery off, so only programmatic plugins (and the plugin directory) count. */
        public Builder withoutClassPathDiscovery()
        {
            this.classPathDiscovery = false;
            return this;
        }

        /**
         * The {@code engine} key of the MBeans, {@code memgov} by default; letters, digits, '.', '_' and '-'. When
         * another engine in this JVM already uses it, {@code -2}, {@code -3}, ... is appended.
         */
        public Builder jmxName(String name)
        {
            this.jmxName = requireNonNull(name, "name is null");
            return this;
        }

        /** Registers no MBeans in the platform MBean server. */
        public Builder withoutJmx()
        {
            this.jmxExport = false;
            return this;
        }

        public Builder clock(Clock clock)
        {
            this.clock = requireNonNull(clock, "clock is null");
            return this;
        }

        /**
         * Reads the configuration, wires the engine and starts it.
         *
         * @throws ConfigurationException naming the key, the bad value and what is accepted, or the plugin at fault
         */
        public MemoryEngine build()
        {
            List<PolicyFamily<?, ?, ?>> families = new ArrayList<>(PolicyFamily.values());
            extraFamilies.forEach(extra -> families.add(extra.family()));
            MemoryEngineConfig config = MemoryEngineConfig.fromMap(properties, families);
            EngineSetup setup = new EngineSetup(plugins, classPathDiscovery ? Optional.of(classPathLoader) : Optional.empty(), clock, extraFamilies,
                    jmxExport ? Optional.of(jmxName) : Optional.empty());
            MemoryEngine engine = DaggerEngineComponent.factory().create(config, setup).engine();
            try {
                engine.start();
            }
            catch (RuntimeException | Error e) {
                engine.close();
                throw e;
            }
            return engine;
        }
    }
}
