package io.memgov.spi;

import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorContext;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyContext;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerContext;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;
import static java.util.Objects.requireNonNull;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.arbitration.MemoryArbitratorContext;
import io.memgov.spi.arbitration.MemoryArbitratorFactory;

/**
 * One kind of policy: everything the engine needs to find, select, create, wrap and name the policies of a family.
 * A family is one constant; adding one is an SPI package (the role, its factory and its context), a constant here and a
 * default method on {@link MemoryPlugin}.
 *
 * <pre>{@code
 * memory.pool.policy=reserve-mode                      # policyKey(): selects the policy by name
 * memory.pool.reserve-mode.reserve-size=1GB            # configPrefix("reserve-mode"): the policy's own keys
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param <F> the factory type plugins implement
 * @param <C> the context the engine hands the factory
 * @param <P> what the factory creates
 * @since 1.0
 */
public final class PolicyFamily<F extends PolicyFactory<C, P>, C extends PolicyContext, P>
{
    private static final Pattern PREFIX = Pattern.compile("[a-z0-9]+(?:-[a-z0-9]+)*(?:\\.[a-z0-9]+(?:-[a-z0-9]+)*)*");

    /** Pools of a node ({@code memory.pool.policy}, default {@code fixed}); created once per node. */
    public static final PolicyFamily<MemoryPoolFactory, MemoryPoolContext, MemoryPoolLayout> POOL =
            builder("memory pool", "memory.pool", MemoryPoolFactory.class, MemoryPoolLayout.class, MemoryPlugin::memoryPoolFactories)
                    .defaultPolicy("fixed")
                    .wrapping((layout, wrapper) -> new MemoryPoolLayout(layout.pools().stream().map(pool -> wrapper.wrap(MemoryPool.class, pool)).toList()))
                    .build();

    /** The tracker tree of a node ({@code memory.tracker.policy}, default {@code exact}); created once per node. */
    public static final PolicyFamily<MemoryTrackerFactory, MemoryTrackerContext, MemoryTracker> TRACKER =
            builder("memory tracker", "memory.tracker", MemoryTrackerFactory.class, MemoryTracker.class, MemoryPlugin::memoryTrackerFactories)
                    .defaultPolicy("exact")
                    .build();

    /**
     * The query killer ({@code query.low-memory-killer.policy}, default {@code total-reservation-on-blocked-nodes});
     * created once per engine. Falls back to killing nothing when the default is not on the class path.
     */
    public static final PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> QUERY_KILLER =
            builder("low memory killer", "query.low-memory-killer", LowMemoryKillerFactory.class, LowMemoryKiller.class, plugin -> killers(plugin, KillerScope.QUERY))
                    .defaultPolicy("total-reservation-on-blocked-nodes")
                    .fallback(LowMemoryKiller.NONE)
                    .build();

    /**
     * The task killer, asked before the query killer ({@code task.low-memory-killer.policy}, default
     * {@code total-reservation-on-blocked-nodes}); created once per engine. Falls back to killing nothing.
     */
    public static final PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> TASK_KILLER =
            builder("task low memory killer", "task.low-memory-killer", LowMemoryKillerFactory.class, LowMemoryKiller.class, plugin -> killers(plugin, KillerScope.TASK))
                    .defaultPolicy("total-reservation-on-blocked-nodes")
                    .fallback(LowMemoryKiller.NONE)
                    .build();

    /**
     * Who is asked to spill ({@code memory.spill-strategy.policy}, default {@code threshold}); created once per node.
     * Falls back to revoking nothing.
     */
    public static final PolicyFamily<SpillStrategyFactory, SpillStrategyContext, SpillStrategy> SPILL_STRATEGY =
            builder("spill strategy", "memory.spill-strategy", SpillStrategyFactory.class, SpillStrategy.class, MemoryPlugin::spillStrategyFactories)
                    .defaultPolicy("threshold")
                    .fallback(SpillStrategy.NONE)
                    .build();

    /**
     * Which ended queries still hold memory ({@code memory.leak-detector.policy}, default {@code leak-detector});
     * created once per engine. Falls back to flagging nothing.
     */
    public static final PolicyFamily<MemoryLeakDetectorFactory, MemoryLeakDetectorContext, MemoryLeakDetector> LEAK_DETECTOR =
            builder("memory leak detector", "memory.leak-detector", MemoryLeakDetectorFactory.class, MemoryLeakDetector.class, MemoryPlugin::memoryLeakDetectorFactories)
                    .defaultPolicy("leak-detector")
                    .fallback(MemoryLeakDetector.NONE)
                    .build();

    /**
     * Which pool each query runs in when a node has several ({@code memory.pool-assigner.policy}); created once per
     * engine. When the key is not set, the assigner named like the selected pool policy is used if one is registered,
     * else {@code none}.
     */
    public static final PolicyFamily<MemoryPoolAssignerFactory, MemoryPoolAssignerContext, MemoryPoolAssigner> POOL_ASSIGNER =
            builder("memory pool assigner", "memory.pool-assigner", MemoryPoolAssignerFactory.class, MemoryPoolAssigner.class, MemoryPlugin::memoryPoolAssignerFactories)
                    .defaultPolicy("none")
                    .defaultFollows(POOL)
                    .fallback(MemoryPoolAssigner.NONE)
                    .build();

    /**
     * How the nodes of a cluster reach the coordinator ({@code cluster.transport.policy}, default {@code embedded}: the
     * nodes of one engine in one JVM); created once per engine.
     */
    public static final PolicyFamily<ClusterTransportFactory, ClusterTransportContext, ClusterTransport> CLUSTER_TRANSPORT =
            builder("cluster transport", "cluster.transport", ClusterTransportFactory.class, ClusterTransport.class, MemoryPlugin::clusterTransportFactories)
                    .defaultPolicy("embedded")
                    .build();

    /**
     * What a node does at once about a reservation its pool cannot grant ({@code memory.arbitrator.policy}, default
     * {@code none}: the requester waits for the cluster loop, as in Trino); created once per node. Experimental.
     */
    public static final PolicyFamily<MemoryArbitratorFactory, MemoryArbitratorContext, MemoryArbitrator> ARBITRATOR =
            builder("memory arbitrator", "memory.arbitrator", MemoryArbitratorFactory.class, MemoryArbitrator.class, MemoryPlugin::memoryArbitratorFactories)
                    .defaultPolicy("none")
                    .fallback(MemoryArbitrator.NONE)
                    .build();

    private static final List<PolicyFamily<?, ?, ?>> BUILT_IN = List.of(POOL, TRACKER, QUERY_KILLER, TASK_KILLER, SPILL_STRATEGY, LEAK_DETECTOR, POOL_ASSIGNER,
            CLUSTER_TRANSPORT, ARBITRATOR);

    private final String displayName;
    private final String prefix;
    private final Class<F> factoryType;
    private final Class<P> productType;
    private final Function<MemoryPlugin, List<F>> factories;
    private final String defaultPolicy;
    private final P fallback;
    private final PolicyFamily<?, ?, ?> defaultFollows;
    private final Wrapping<P> wrapping;

    private PolicyFamily(Builder<F, C, P> builder)
    {
        this.displayName = builder.displayName;
        this.prefix = builder.prefix;
        this.factoryType = builder.factoryType;
        this.productType = builder.productType;
        this.factories = builder.factories;
        this.defaultPolicy = builder.defaultPolicy;
        this.fallback = builder.fallback;
        this.defaultFollows = builder.defaultFollows;
        this.wrapping = builder.wrapping != null ? builder.wrapping : (product, wrapper) -> wrapper.wrap(productType, product);
    }

    /** The families memgov defines, in the order the engine creates them. */
    public static List<PolicyFamily<?, ?, ?>> values()
    {
        return BUILT_IN;
    }

    /**
     * Starts a family. For families memgov does not define (a host's own extension point, or a test); the engine
     * accepts them through its builder.
     *
     * @param displayName how messages name the family, e.g. {@code low memory killer}; never null
     * @param prefix the family's key prefix, e.g. {@code query.low-memory-killer}: lower-case words separated by dots
     *        and dashes
     * @param factoryType the factory interface plugins implement
     * @param productType what factories create; when it is an interface, the engine wraps it as a whole for drop-in
     *        plugins (see {@link Builder#wrapping})
     * @param factories the factories of this family a plugin offers; called once per plugin at start-up
     */
    public static <F extends PolicyFactory<C, P>, C extends PolicyContext, P> Builder<F, C, P> builder(
            String displayName, String prefix, Class<F> factoryType, Class<P> productType, Function<MemoryPlugin, List<F>> factories)
    {
        return new Builder<>(displayName, prefix, factoryType, productType, factories);
    }

    /** How messages name the family, e.g. {@code low memory killer}. */
    public String displayName()
    {
        return displayName;
    }

    /** The family's key prefix, e.g. {@code query.low-memory-killer}. */
    public String prefix()
    {
        return prefix;
    }

    /** The key that selects the policy, e.g. {@code query.low-memory-killer.policy}. */
    public String policyKey()
    {
        return prefix + ".policy";
    }

    /** The prefix of the keys of policy {@code name}, e.g. {@code query.low-memory-killer.total-reservation.}. */
    public String configPrefix(String name)
    {
        return prefix + "." + requireNonNull(name, "name is null") + ".";
    }

    public Class<F> factoryType()
    {
        return factoryType;
    }

    public Class<P> productType()
    {
        return productType;
    }

    /** The factories of this family that {@code plugin} offers; never null. */
    public List<F> factoriesOf(MemoryPlugin plugin)
    {
        List<F> offered = factories.apply(requireNonNull(plugin, "plugin is null"));
        return offered == null ? List.of() : offered;
    }

    /** The policy selected when {@link #policyKey()} is not set. */
    public String defaultPolicy()
    {
        return defaultPolicy;
    }

    /**
     * The family whose selected policy name this family's default follows, if any: when this family's key is not set
     * and a policy of that name is registered here, it is selected (a pool policy's own assigner).
     */
    public Optional<PolicyFamily<?, ?, ?>> defaultFollows()
    {
        return Optional.ofNullable(defaultFollows);
    }

    /**
     * What the engine uses when the default policy is not registered and the key was not set: the family's built-in
     * "none". Empty for families that must have a policy (pools, trackers).
     */
    public Optional<P> fallback()
    {
        return Optional.ofNullable(fallback);
    }

    /** Wraps a product of a drop-in plugin so that every call into it runs under that plugin's class loader. */
    public P wrap(P product, RoleWrapper wrapper)
    {
        return wrapping.wrap(requireNonNull(product, "product is null"), requireNonNull(wrapper, "wrapper is null"));
    }

    @Override
    public String toString()
    {
        return displayName + " (" + policyKey() + ")";
    }

    private static List<LowMemoryKillerFactory> killers(MemoryPlugin plugin, KillerScope scope)
    {
        return plugin.lowMemoryKillerFactories().stream().filter(factory -> factory.scope() == scope).toList();
    }

    /**
     * Turns a policy object into one whose every call runs under its plugin's class loader. Implemented by the engine.
     */
    public interface RoleWrapper
    {
        /**
         * @param role the SPI interface the result must implement (it also implements every other SPI interface
         *        {@code target} implements)
         * @param target the plugin's object
         */
        <T> T wrap(Class<T> role, T target);
    }

    /** How a family's product is wrapped: the whole product, or the policies a value product holds. */
    @FunctionalInterface
    public interface Wrapping<P>
    {
        P wrap(P product, RoleWrapper wrapper);
    }

    /** Builds a {@link PolicyFamily}. */
    public static final class Builder<F extends PolicyFactory<C, P>, C extends PolicyContext, P>
    {
        private final String displayName;
        private final String prefix;
        private final Class<F> factoryType;
        private final Class<P> productType;
        private final Function<MemoryPlugin, List<F>> factories;
        private String defaultPolicy = "none";
        private P fallback;
        private PolicyFamily<?, ?, ?> defaultFollows;
        private Wrapping<P> wrapping;

        private Builder(String displayName, String prefix, Class<F> factoryType, Class<P> productType, Function<MemoryPlugin, List<F>> factories)
        {
            this.displayName = requireNonNull(displayName, "displayName is null");
            this.prefix = requireNonNull(prefix, "prefix is null");
            if (!PREFIX.matcher(prefix).matches()) {
                throw new IllegalArgumentException("prefix must be lower-case words separated by '.' and '-': '" + prefix + "'");
            }
            this.factoryType = requireNonNull(factoryType, "factoryType is null");
            this.productType = requireNonNull(productType, "productType is null");
            this.factories = requireNonNull(factories, "factories is null");
        }

        /** The policy selected when the key is not set; {@code none} unless given. */
        public Builder<F, C, P> defaultPolicy(String name)
        {
            this.defaultPolicy = requireNonNull(name, "name is null");
            return this;
        }

        /** The built-in product used when the default is not registered and the key was not set. */
        public Builder<F, C, P> fallback(P product)
        {
            this.fallback = requireNonNull(product, "product is null");
            return this;
        }

        /** See {@link PolicyFamily#defaultFollows()}. */
        public Builder<F, C, P> defaultFollows(PolicyFamily<?, ?, ?> family)
        {
            this.defaultFollows = requireNonNull(family, "family is null");
            return this;
        }

        /**
         * How a product is wrapped for its plugin's class loader. Needed only when the product is not an interface
         * (a value holding policies); by default the product is wrapped as a whole.
         */
        public Builder<F, C, P> wrapping(Wrapping<P> wrapping)
        {
            this.wrapping = requireNonNull(wrapping, "wrapping is null");
            return this;
        }

        public PolicyFamily<F, C, P> build()
        {
            if (wrapping == null && !productType.isInterface()) {
                throw new IllegalStateException("family '" + displayName + "' creates " + productType.getName() + ", which is not an interface: give it a wrapping");
            }
            return new PolicyFamily<>(this);
        }
    }
}
