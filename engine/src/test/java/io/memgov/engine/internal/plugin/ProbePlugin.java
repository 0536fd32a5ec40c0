package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.arbitration.MemoryArbitratorFactory;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportFactory;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.leak.MemoryLeakDetectorFactory;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.spill.SpillStrategy;
import io.memgov.spi.spill.SpillStrategyFactory;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import io.memgov.spi.tracker.TrackerLevel;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plugin offering a policy named {@code probe} in every family, each a {@link Proxy} that records, for every call,
 * the method and the thread context loader it ran under. {@link ContextLoaderPoliciesTest} copies it into a jar, so
 * that it is loaded in its own {@link PluginClassLoader}; it uses nothing but the JDK and the SPI.
 */
public final class ProbePlugin
        implements MemoryPlugin
{
    /** {@code MemoryPool.reserve@probe.jar} for every call into a probe policy; read by the test through reflection. */
    public static final List<String> CALLS = new CopyOnWriteArrayList<>();

    @Override
    public List<MemoryPoolFactory> memoryPoolFactories()
    {
        return List.of(proxy(MemoryPoolFactory.class, new Factory(MemoryPool.class)));
    }

    @Override
    public List<MemoryTrackerFactory> memoryTrackerFactories()
    {
        return List.of(proxy(MemoryTrackerFactory.class, new Factory(MemoryTracker.class)));
    }

    @Override
    public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
    {
        return List.of(proxy(LowMemoryKillerFactory.class, new Factory(LowMemoryKiller.class)));
    }

    @Override
    public List<SpillStrategyFactory> spillStrategyFactories()
    {
        return List.of(proxy(SpillStrategyFactory.class, new Factory(SpillStrategy.class)));
    }

    @Override
    public List<MemoryPoolAssignerFactory> memoryPoolAssignerFactories()
    {
        return List.of(proxy(MemoryPoolAssignerFactory.class, new Factory(MemoryPoolAssigner.class)));
    }

    @Override
    public List<ClusterTransportFactory> clusterTransportFactories()
    {
        return List.of(proxy(ClusterTransportFactory.class, new Factory(ClusterTransport.class)));
    }

    @Override
    public List<MemoryLeakDetectorFactory> memoryLeakDetectorFactories()
    {
        return List.of(proxy(MemoryLeakDetectorFactory.class, new Factory(MemoryLeakDetector.class)));
    }

    @Override
    public List<MemoryArbitratorFactory> memoryArbitratorFactories()
    {
        return List.of(proxy(MemoryArbitratorFactory.class, new Factory(MemoryArbitrator.class)));
    }

    private static <T> T proxy(Class<T> type, InvocationHandler handler)
    {
        return type.cast(Proxy.newProxyInstance(ProbePlugin.class.getClassLoader(), new Class<?>[] {type}, handler));
    }

    private static final class Factory
            implements InvocationHandler
    {
        private final Class<?> policyType;

        Factory(Class<?> policyType)
        {
            this.policyType = policyType;
        }

        @Override
        public Object invoke(Object proxy, Method method, Object[] args)
        {
            switch (method.getName()) {
                case "name":
                case "toString":
                    return "probe";
                case "scope":
                    return KillerScope.QUERY;
                case "create":
                    // a pool factory creates a layout, a value holding the pools
                    return policyType == MemoryPool.class
                            ? MemoryPoolLayout.of(proxy(MemoryPool.class, new Policy(MemoryPool.class)))
                            : proxy(policyType, new Policy(policyType));
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    throw new UnsupportedOperationException(method.toString());
            }
        }
    }

    private static final class Policy
            implements InvocationHandler
    {
        private final Class<?> policyType;

        Policy(Class<?> policyType)
        {
            this.policyType = policyType;
        }

        @Override
        public Object invoke(Object proxy, Method method, Object[] args)
        {
            if (method.getDeclaringClass() == Object.class) {
                return method.getName().equals("equals") ? proxy == args[0] : method.getName().equals("hashCode") ? System.identityHashCode(proxy) : "probe";
            }
            CALLS.add(policyType.getSimpleName() + "." + method.getName() + "@" + Thread.currentThread().getContextClassLoader().getName());
            Class<?> type = method.getReturnType();
            if (type == MemoryTracker.class) {
                return proxy;
            }
            if (type == TrackerLevel.class) {
                return TrackerLevel.NODE;
            }
            if (type == Optional.class) {
                return Optional.empty();
            }
            if (type == List.class) {
                return List.of();
            }
            if (type == Set.class) {
                return Set.of();
            }
            if (type == Map.class) {
                return Map.of();
            }
            if (type == boolean.class) {
                return false;
            }
            if (type == int.class) {
                return 0;
            }
            if (type == long.class) {
                return 0L;
            }
            return null;
        }
    }
}
