package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.pool.MemoryPoolSlot;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every call into a drop-in plugin's policy, not only the factory's {@code create}, runs with the plugin's class loader
 * as thread context loader: the policies of {@link ProbePlugin}, loaded from a jar, record the loader of each call.
 */
final class ContextLoaderProxyTest
{
    @TempDir
    Path temp;

    @Test
    void everyMethodOfEveryPolicyFamilyRunsWithThePluginsContextLoader()
            throws Exception
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        TestJars.write(plugins.resolve("probe.jar"), ProbePlugin.class, ProbePlugin.class);
        PluginRegistry registry = new PluginRegistry();
        new PluginLoader(registry).loadFromDirectory(plugins, true);
        ClassLoader outside = Thread.currentThread().getContextClassLoader();

        List<String> expected = new ArrayList<>();
        List<Object> policies = new ArrayList<>();
        for (PolicyFamily<?, ?, ?> family : PolicyFamily.values()) {
            if (family == PolicyFamily.TASK_KILLER) {
                // the probe's killer is a query killer; the task killer family wraps the same way
                continue;
            }
            Object created = create(registry, family);
            policies.add(created instanceof MemoryPoolLayout layout ? layout.generalPool() : created);
        }
        // the layout reads its pools' ids while it is built: count only the calls below
        calls(registry).clear();
        for (Object policy : policies) {
            Class<?> type = spiRole(policy);
            // reflection, so that a method added to the SPI later and not wrapped fails this test
            for (Method method : type.getMethods()) {
                if (Modifier.isStatic(method.getModifiers())) {
                    continue;
                }
                method.invoke(policy, arguments(method));
                expected.add(type.getSimpleName() + "." + method.getName() + "@probe.jar");
                assertThat(Thread.currentThread().getContextClassLoader()).as("restored after %s", method).isSameAs(outside);
            }
        }

        assertThat(calls(registry)).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void trackersHandedOutByATrackerAreDecoratedToo()
            throws Exception
    {
        // the engine builds the user and query levels with newChild and never sees the root again on the hot path
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        TestJars.write(plugins.resolve("probe.jar"), ProbePlugin.class, ProbePlugin.class);
        PluginRegistry registry = new PluginRegistry();
        new PluginLoader(registry).loadFromDirectory(plugins, true);
        MemoryTracker root = create(registry, PolicyFamily.TRACKER);

        MemoryTracker child = root.newChild(TrackerLevel.QUERY, "q1", 0);
        calls(registry).clear();
        child.allocate(10);
        child.free(10);

        assertThat(calls(registry)).containsExactly("MemoryTracker.allocate@probe.jar", "MemoryTracker.free@probe.jar");
    }

    @Test
    void policiesOfTheEnginesOwnLoaderAreNotDecorated()
    {
        // built-ins and class-path plugins share the engine's loader: decorating them would only slow reservations
        LowMemoryKiller killer = (queries, nodes) -> Optional.empty();
        MemoryPlugin plugin = new MemoryPlugin()
        {
            @Override
            public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
            {
                return List.of(new LowMemoryKillerFactory()
                {
                    @Override
                    public String name()
                    {
                        return "plain";
                    }

                    @Override
                    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
                    {
                        return killer;
                    }
                });
            }
        };
        PluginRegistry registry = new PluginRegistry();
        registry.register(plugin, new PluginSource("class path", ContextLoaderProxyTest.class.getClassLoader()));

        LowMemoryKiller created = PluginRegistry.create(PolicyFamily.QUERY_KILLER, registry.require(PolicyFamily.QUERY_KILLER, "plain"), PolicyConfig.empty(), null).policy();

        assertThat(created).isSameAs(killer);
    }

    @Test
    void aDefaultMethodTheTargetInheritsRunsOnTheWrapperSoThatItsCallsAreDecoratedToo()
            throws Exception
    {
        // a drop-in pool offers no slots of its own: the default slot makes the pool's own calls, and they must go
        // through the wrapper, with the plugin's context loader, as the engine's other calls do
        try (URLClassLoader plugin = new URLClassLoader("plugin", new URL[0], null)) {
            List<String> loaders = new ArrayList<>();
            MemoryPool wrapped = ContextLoaderProxy.wrap(MemoryPool.class, new LoaderRecordingPool(loaders), plugin);

            MemoryPoolSlot slot = wrapped.slot(TaskId.of(QueryId.of("q1"), "0"), "Scan");
            slot.reserve(10);
            slot.free(10);
            assertThat(wrapped.freeBytes()).isEqualTo(100);

            assertThat(loaders).containsExactly("reserve@plugin", "free@plugin", "maxBytes@plugin", "reservedBytes@plugin", "reservedRevocableBytes@plugin");
        }
    }

    private static <F extends PolicyFactory<C, P>, C extends PolicyContext, P> P create(PluginRegistry registry, PolicyFamily<F, C, P> family)
    {
        return PluginRegistry.create(family, registry.require(family, "probe"), PolicyConfig.empty(), null).policy();
    }

    // the one SPI interface the wrapper implements (the probe's policies implement exactly one)
    private static Class<?> spiRole(Object policy)
    {
        Class<?>[] interfaces = policy.getClass().getInterfaces();
        assertThat(interfaces).as("interfaces of %s", policy).hasSize(1);
        return interfaces[0];
    }

    private static Object[] arguments(Method method)
    {
        Class<?>[] types = method.getParameterTypes();
        Object[] arguments = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            if (types[i] == long.class) {
                arguments[i] = 0L;
            }
            else if (types[i] == int.class) {
                arguments[i] = 0;
            }
            else if (types[i] == boolean.class) {
                arguments[i] = false;
            }
        }
        return arguments;
    }

    @SuppressWarnings("unchecked")
    private static List<String> calls(PluginRegistry registry)
            throws ReflectiveOperationException
    {
        Object factory = registry.find(PolicyFamily.POOL, "probe").orElseThrow().factory();
        // the plugin's own copy of ProbePlugin, not the one on the test class path
        Class<?> probe = factory.getClass().getClassLoader().loadClass(ProbePlugin.class.getName());
        assertThat(probe).isNotSameAs(ProbePlugin.class);
        return (List<String>) probe.getField("CALLS").get(null);
    }

    /** A plugin's pool written before slots existed: it records the context loader of each call it gets. */
    private static final class LoaderRecordingPool
            implements MemoryPool
    {
        private final List<String> loaders;

        LoaderRecordingPool(List<String> loaders)
        {
            this.loaders = loaders;
        }

        private void record(String call)
        {
            loaders.add(call + "@" + Thread.currentThread().getContextClassLoader().getName());
        }

        @Override
        public String id()
        {
            return "general";
        }

        @Override
        public long maxBytes()
        {
            record("maxBytes");
            return 100;
        }

        @Override
        public long reservedBytes()
        {
            record("reservedBytes");
            return 0;
        }

        @Override
        public long reservedRevocableBytes()
        {
            record("reservedRevocableBytes");
            return 0;
        }

        @Override
        public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
        {
            record("reserve");
            return MemoryFuture.NOT_BLOCKED;
        }

        @Override
        public boolean tryReserve(TaskId taskId, String tag, long bytes)
        {
            record("tryReserve");
            return true;
        }

        @Override
        public void free(TaskId taskId, String tag, long bytes)
        {
            record("free");
        }

        @Override
        public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
        {
            record("reserveRevocable");
            return MemoryFuture.NOT_BLOCKED;
        }

        @Override
        public boolean tryReserveRevocable(TaskId taskId, long bytes)
        {
            record("tryReserveRevocable");
            return true;
        }

        @Override
        public void freeRevocable(TaskId taskId, long bytes)
        {
            record("freeRevocable");
        }

        @Override
        public long queryReservedBytes(QueryId queryId)
        {
            return 0;
        }

        @Override
        public long queryRevocableBytes(QueryId queryId)
        {
            return 0;
        }

        @Override
        public void addListener(MemoryPoolListener listener) {}

        @Override
        public MemoryPoolInfo info()
        {
            return MemoryPoolInfo.empty("general", 100);
        }
    }
}
