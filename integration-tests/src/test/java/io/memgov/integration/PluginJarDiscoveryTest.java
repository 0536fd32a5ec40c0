package io.memgov.integration;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The built plugin-none jar is a real plugin: a fresh class loader that sees only that jar (and the SPI through its
 * parent) finds it with ServiceLoader.
 */
final class PluginJarDiscoveryTest
{
    @Test
    void findsTheNoneKillersInTheBuiltJarThroughAFreshClassLoader()
            throws Exception
    {
        Path jar = Path.of(System.getProperty("memgov.plugin-none.jar"));
        assertThat(jar).exists();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, new SpiOnlyClassLoader())) {
            List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class, loader).stream()
                    .map(ServiceLoader.Provider::get)
                    .filter(plugin -> plugin.getClass().getClassLoader() == loader)
                    .toList();
            assertThat(plugins).hasSize(1);
            assertThat(plugins.get(0).getClass().getName()).isEqualTo("io.memgov.plugin.none.NonePlugin");
            assertThat(plugins.get(0).lowMemoryKillerFactories())
                    .extracting(LowMemoryKillerFactory::name, LowMemoryKillerFactory::scope)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("none", KillerScope.QUERY),
                            org.assertj.core.groups.Tuple.tuple("none", KillerScope.TASK));
        }
    }

    /** Sees the SPI and the JDK, not the test class path (where plugin-none is too). */
    private static final class SpiOnlyClassLoader
            extends ClassLoader
    {
        SpiOnlyClassLoader()
        {
            super(ClassLoader.getPlatformClassLoader());
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve)
                throws ClassNotFoundException
        {
            if (name.startsWith("io.memgov.spi.")) {
                return MemoryPlugin.class.getClassLoader().loadClass(name);
            }
            return super.loadClass(name, resolve);
        }
    }

    @Test
    void loadsTheBuiltJarFromAPluginDirectoryInItsOwnClassLoader(@org.junit.jupiter.api.io.TempDir Path pluginDir)
            throws Exception
    {
        Path jar = Path.of(System.getProperty("memgov.plugin-none.jar"));
        Files.copy(jar, pluginDir.resolve("plugin-none.jar"));
        try (io.memgov.engine.MemoryEngine engine = io.memgov.engine.MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .property("plugin.dir", pluginDir.toString())
                .property("query.low-memory-killer.policy", "none")
                .property("task.low-memory-killer.policy", "none")
                .build()) {
            assertThat(engine.plugins().describe(io.memgov.spi.PolicyFamily.QUERY_KILLER))
                    .singleElement().asString().contains("none").contains(pluginDir.resolve("plugin-none.jar").toString());
            assertThat(engine.queryKiller().chooseTargetToKill(List.of(), List.of())).isEmpty();
        }
    }
}
