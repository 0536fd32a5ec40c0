package io.memgov.engine.internal.plugin;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.MemoryEngine;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Discovery through a real {@link java.util.ServiceLoader}: on a class path (a {@link URLClassLoader} over a
 * directory holding {@code META-INF/services/io.memgov.spi.MemoryPlugin}) and in a plugin directory (a jar built
 * here, loaded in its own {@link PluginClassLoader}). Covers none, one, duplicate, unknown-name and broken providers.
 */
final class PluginLoaderTest
{
    private static final String SERVICES = TestJars.SERVICES;

    @TempDir
    Path temp;

    @Test
    void classPathWithoutPluginsRegistersNothing()
            throws IOException
    {
        // the engine must start on a bare class path
        PluginRegistry registry = loadFromClassPath();
        for (PolicyFamily family : PolicyFamily.values()) {
            assertThat(registry.describe(family)).isEmpty();
        }
        assertThat(registry.loadFailures()).isEmpty();
    }

    @Test
    void pluginListedInServicesIsRegisteredWithWhereItCameFrom()
            throws IOException
    {
        PluginRegistry registry = loadFromClassPath(GoodPlugin.class.getName());

        RegisteredFactory<LowMemoryKillerFactory> factory = registry.find(PolicyFamily.QUERY_KILLER, "good").orElseThrow();
        assertThat(factory.pluginName()).isEqualTo("GoodPlugin");
        assertThat(factory.origin()).startsWith("GoodPlugin from class path (");
        assertThat(registry.describe(PolicyFamily.QUERY_KILLER)).hasSize(1);
    }

    @Test
    void commentsAndBlankLinesInTheServicesFileAreIgnored()
            throws IOException
    {
        // service files are hand-written; the format allows comments
        PluginRegistry registry = loadFromClassPath("# the good one", "", GoodPlugin.class.getName() + "  # trailing comment");
        assertThat(registry.find(PolicyFamily.QUERY_KILLER, "good")).isPresent();
    }

    @Test
    void sameNameFromTwoPluginsFailsNamingBoth()
    {
        // which of two same-named policies wins must never depend on class-path order
        assertThatThrownBy(() -> loadFromClassPath(GoodPlugin.class.getName(), TwinPlugin.class.getName()))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Low memory killer 'good' is registered twice: GoodPlugin from class path (")
                .hasMessageContaining(" and TwinPlugin from class path (");
    }

    @Test
    void unknownNameListsTheRegisteredOnes()
            throws IOException
    {
        PluginRegistry registry = loadFromClassPath(GoodPlugin.class.getName());

        assertThatThrownBy(() -> registry.require(PolicyFamily.QUERY_KILLER, "nope"))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Low memory killer 'nope' is not registered ('query.low-memory-killer.policy'). Available: [good (GoodPlugin from class path (")
                .hasMessageNotContaining("failed to load");
    }

    @Test
    void brokenProvidersAreSkippedAndMentionedWhenTheirPolicyIsMissing()
            throws IOException
    {
        // a broken jar that nobody selected must not stop the engine; if its policy is selected, the error says why
        PluginRegistry registry = loadFromClassPath(
                "io.memgov.engine.internal.plugin.NoSuchPlugin",
                ThrowingConstructorPlugin.class.getName(),
                GoodPlugin.class.getName());

        assertThat(registry.find(PolicyFamily.QUERY_KILLER, "good")).isPresent();
        assertThat(registry.loadFailures()).hasSize(2);
        assertThat(registry.loadFailures().get(0)).contains("NoSuchPlugin");
        assertThat(registry.loadFailures().get(1)).contains("ThrowingConstructorPlugin").contains("constructor failed");
        assertThat(registry.notRegisteredMessage(PolicyFamily.QUERY_KILLER, "broken"))
                .startsWith("Low memory killer 'broken' is not registered")
                .contains("Plugins that failed to load: [")
                .contains("NoSuchPlugin")
                .contains("constructor failed");
    }

    @Test
    void engineDiscoversPluginsThroughItsClassPathLoader()
            throws IOException
    {
        // the builder's default path: ServiceLoader on the class path, selected by property
        try (MemoryEngine engine = MemoryEngine.builder()
                .classPathLoader(servicesLoader(GoodPlugin.class.getName()))
                .properties(Map.of("node.heap-size", "10MB", "query.low-memory-killer.policy", "good"))
                .build()) {
            assertThat(engine.queryKiller().toString()).isEqualTo("good");
            assertThat(engine.queryKiller().chooseTargetToKill(List.of(), List.of())).isEmpty();
        }
    }

    @Test
    void jarInThePluginDirectoryIsLoadedInItsOwnClassLoader()
            throws Exception
    {
        // isolation: the plugin's classes come from its jar, not the engine's class path, while SPI types are shared
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        writePluginJar(plugins.resolve("my-killer.jar"), true);
        PluginRegistry registry = new PluginRegistry();

        new PluginLoader(registry).loadFromDirectory(plugins, true);

        RegisteredFactory<LowMemoryKillerFactory> registration = registry.find(PolicyFamily.QUERY_KILLER, "jar-killer").orElseThrow();
        Object factory = registration.factory();
        assertThat(factory.getClass().getName()).isEqualTo(JarPlugin.class.getName());
        assertThat(factory.getClass()).isNotSameAs(JarPlugin.class);
        assertThat(factory.getClass().getClassLoader()).isInstanceOf(PluginClassLoader.class).isSameAs(registration.source().classLoader());
        assertThat(registration.source().description()).isEqualTo(plugins.resolve("my-killer.jar").toString());
        assertThat(registration.origin()).isEqualTo("JarPlugin from " + plugins.resolve("my-killer.jar"));

        // the engine creates it with the plugin's loader as the thread context loader
        LowMemoryKiller killer = PluginRegistry.create(PolicyFamily.QUERY_KILLER, registration, PolicyConfig.empty(), null).policy();
        assertThat(killer.chooseTargetToKill(List.of(), List.of())).isEmpty();
        assertThat(factory.getClass().getMethod("contextLoaderName").invoke(factory)).isEqualTo("my-killer.jar");
        ClassLoader loader = factory.getClass().getClassLoader();
        // the plugin sees the SPI of the engine, and not the engine itself
        assertThat(loader.loadClass(MemoryPlugin.class.getName())).isSameAs(MemoryPlugin.class);
        assertThatThrownBy(() -> loader.loadClass(PluginRegistry.class.getName())).isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void folderInThePluginDirectoryIsOnePlugin()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Path folder = Files.createDirectory(plugins.resolve("folder-plugin"));
        writePluginJar(folder.resolve("killer.jar"), true);
        // neither an empty folder nor a file that is not a jar is a plugin
        Files.createDirectory(plugins.resolve("empty"));
        Files.writeString(plugins.resolve("README.txt"), "not a plugin");
        PluginRegistry registry = new PluginRegistry();

        new PluginLoader(registry).loadFromDirectory(plugins, true);

        assertThat(registry.describe(PolicyFamily.QUERY_KILLER)).containsExactly("jar-killer (JarPlugin from " + folder + ")");
        assertThat(registry.loadFailures()).isEmpty();
    }

    @Test
    void jarWithoutServicesFileIsSkippedWithAWarningNamingIt()
            throws IOException
    {
        // a library jar dropped in by mistake offers nothing; it is not an error, but the user is told which jar
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        writePluginJar(plugins.resolve("library.jar"), false);
        PluginRegistry registry = new PluginRegistry();

        try (CapturedLog log = new CapturedLog()) {
            new PluginLoader(registry).loadFromDirectory(plugins, true);

            String warning = "Plugin " + plugins.resolve("library.jar") + " has no META-INF/services/io.memgov.spi.MemoryPlugin; it offers nothing and was skipped";
            assertThat(log.warnings).containsExactly(warning);
            assertThat(registry.warnings()).containsExactly(warning);
        }
        assertThat(registry.describe(PolicyFamily.QUERY_KILLER)).isEmpty();
        assertThat(registry.loadFailures()).isEmpty();
    }

    @Test
    void folderWithoutJarsIsSkippedWithAWarningNamingIt()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Path folder = Files.createDirectory(plugins.resolve("half-copied"));
        Files.writeString(folder.resolve("NOTICE"), "no jar here");
        PluginRegistry registry = new PluginRegistry();

        new PluginLoader(registry).loadFromDirectory(plugins, true);

        assertThat(registry.warnings()).containsExactly("Plugin folder " + folder + " holds no jar; skipped");
    }

    @Test
    void corruptJarIsReportedNamingItWhileTheOthersLoad()
            throws IOException
    {
        // a truncated copy must not read as "no services file", and must not stop the good jar beside it
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Files.writeString(plugins.resolve("a-truncated.jar"), "PK not really a jar");
        writePluginJar(plugins.resolve("b-good.jar"), true);
        PluginRegistry registry = new PluginRegistry();

        new PluginLoader(registry).loadFromDirectory(plugins, true);

        assertThat(registry.loadFailures()).singleElement().asString()
                .startsWith(plugins.resolve("a-truncated.jar") + ": not a readable jar (java.util.zip.ZipException: ");
        assertThat(registry.warnings()).singleElement().asString()
                .startsWith("Plugin " + plugins.resolve("a-truncated.jar") + " could not be loaded; its policies are unavailable: not a readable jar (java.util.zip.ZipException: ");
        assertThat(registry.describe(PolicyFamily.QUERY_KILLER)).containsExactly("jar-killer (JarPlugin from " + plugins.resolve("b-good.jar") + ")");
    }

    @Test
    void corruptJarInAFolderNamesTheFolderAndTheJar()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Path folder = Files.createDirectory(plugins.resolve("my-plugin"));
        writePluginJar(folder.resolve("a.jar"), true);
        Files.writeString(folder.resolve("b-dependency.jar"), "");
        PluginRegistry registry = new PluginRegistry();

        new PluginLoader(registry).loadFromDirectory(plugins, true);

        assertThat(registry.loadFailures()).singleElement().asString().startsWith(folder + " (b-dependency.jar): not a readable jar (java.util.zip.ZipException: ");
        assertThat(registry.describe(PolicyFamily.QUERY_KILLER)).isEmpty();
    }

    @Test
    void providerWhoseConstructorThrowsIsAWarningWhenItsPolicyIsNotSelected()
            throws IOException
    {
        // other plugins, in the directory and on the class path, are unaffected
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        TestJars.write(plugins.resolve("broken.jar"), ThrowingJarPlugin.class, ThrowingJarPlugin.class);
        writePluginJar(plugins.resolve("good.jar"), true);

        try (CapturedLog log = new CapturedLog();
                MemoryEngine engine = MemoryEngine.builder()
                        .classPathLoader(servicesLoader(GoodPlugin.class.getName()))
                        .properties(Map.of(
                                "node.heap-size", "10MB",
                                "plugin.dir", plugins.toString(),
                                "query.low-memory-killer.policy", "jar-killer"))
                        .build()) {
            String plugin = ThrowingJarPlugin.class.getName() + " from " + plugins.resolve("broken.jar");
            String exception = "java.lang.IllegalStateException: cannot reach the licence server";
            assertThat(log.warnings).containsExactly("Plugin " + plugin + " could not be loaded; its policies are unavailable: " + exception);
            assertThat(engine.plugins().warnings()).containsExactlyElementsOf(log.warnings);
            assertThat(engine.plugins().loadFailures()).containsExactly(plugin + ": " + exception);
            assertThat(engine.queryKiller().toString()).isEqualTo("jar-killer");
            assertThat(engine.plugins().describe(PolicyFamily.QUERY_KILLER)).hasSize(2)
                    .contains("jar-killer (JarPlugin from " + plugins.resolve("good.jar") + ")")
                    .anySatisfy(description -> assertThat(description).startsWith("good (GoodPlugin from class path ("));
        }
    }

    @Test
    void providerWhoseConstructorThrowsIsAnErrorWhenItsPolicyIsSelected()
            throws IOException
    {
        // the user selected the broken plugin's killer: start-up fails and says which jar broke and how
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        TestJars.write(plugins.resolve("broken.jar"), ThrowingJarPlugin.class, ThrowingJarPlugin.class);
        writePluginJar(plugins.resolve("good.jar"), true);

        assertThatThrownBy(() -> MemoryEngine.builder().withoutClassPathDiscovery()
                .properties(Map.of(
                        "node.heap-size", "10MB",
                        "plugin.dir", plugins.toString(),
                        "query.low-memory-killer.policy", "licensed-killer"))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Low memory killer 'licensed-killer' is not registered ('query.low-memory-killer.policy'). "
                        + "Available: [jar-killer (JarPlugin from " + plugins.resolve("good.jar") + ")]. "
                        + "Plugins that failed to load: [" + ThrowingJarPlugin.class.getName() + " from " + plugins.resolve("broken.jar")
                        + ": java.lang.IllegalStateException: cannot reach the licence server]");
    }

    @Test
    void pluginWhoseFactoryListThrowsIsSkippedAndOthersStay()
            throws IOException
    {
        PluginRegistry registry = loadFromClassPath(ThrowingListPlugin.class.getName(), GoodPlugin.class.getName());

        assertThat(registry.find(PolicyFamily.QUERY_KILLER, "good")).isPresent();
        assertThat(registry.loadFailures()).singleElement().asString()
                .startsWith(ThrowingListPlugin.class.getName() + " from class path (")
                .endsWith(": java.lang.IllegalStateException: factories unavailable");
    }

    @Test
    void sameNameFromTwoJarsFailsNamingBothJars()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        writePluginJar(plugins.resolve("a.jar"), true);
        Path folder = Files.createDirectory(plugins.resolve("b"));
        writePluginJar(folder.resolve("copy.jar"), true);

        assertThatThrownBy(() -> new PluginLoader(new PluginRegistry()).loadFromDirectory(plugins, true))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Low memory killer 'jar-killer' is registered twice: JarPlugin from " + plugins.resolve("a.jar") + " and JarPlugin from " + folder);
    }

    @Test
    void sameNameOnTheClassPathAndInThePluginDirectoryFailsNamingBoth()
            throws IOException
    {
        // the usual mistake: the jar was copied into plugins/ and left on the class path
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        writePluginJar(plugins.resolve("my-killer.jar"), true);

        assertThatThrownBy(() -> MemoryEngine.builder()
                .classPathLoader(servicesLoader(JarPlugin.class.getName()))
                .properties(Map.of("node.heap-size", "10MB", "plugin.dir", plugins.toString()))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Low memory killer 'jar-killer' is registered twice: JarPlugin from class path (")
                .hasMessageEndingWith(" and JarPlugin from " + plugins.resolve("my-killer.jar"));
    }

    @Test
    void unknownNameListsThePluginDirectoryPoliciesWithTheirJars()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        writePluginJar(plugins.resolve("my-killer.jar"), true);

        assertThatThrownBy(() -> MemoryEngine.builder()
                .classPathLoader(servicesLoader(GoodPlugin.class.getName()))
                .properties(Map.of("node.heap-size", "10MB", "plugin.dir", plugins.toString(), "query.low-memory-killer.policy", "jar-killr"))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Low memory killer 'jar-killr' is not registered ('query.low-memory-killer.policy'). Available: [good (GoodPlugin from class path (")
                .hasMessageEndingWith("), jar-killer (JarPlugin from " + plugins.resolve("my-killer.jar") + ")]");
    }

    @Test
    void emptyPluginDirectoryRegistersNothingAndWarnsNothing()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        PluginRegistry registry = new PluginRegistry();

        new PluginLoader(registry).loadFromDirectory(plugins, true);

        assertThat(registry.describe(PolicyFamily.QUERY_KILLER)).isEmpty();
        assertThat(registry.warnings()).isEmpty();
    }

    @Test
    void missingPluginDirectoryIsAnErrorOnlyWhenConfigured()
    {
        PluginRegistry registry = new PluginRegistry();
        Path missing = temp.resolve("missing");

        new PluginLoader(registry).loadFromDirectory(missing, false);
        assertThatThrownBy(() -> new PluginLoader(registry).loadFromDirectory(missing, true))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Plugin directory '" + missing.toAbsolutePath() + "' ('plugin.dir') does not exist");
    }

    @Test
    void pluginDirectoryIsNotADirectory()
            throws IOException
    {
        Path file = Files.writeString(temp.resolve("plugins"), "x");
        assertThatThrownBy(() -> new PluginLoader(new PluginRegistry()).loadFromDirectory(file, true))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Plugin directory '" + file.toAbsolutePath() + "' ('plugin.dir') is not a readable directory");
    }

    @Test
    void engineLoadsAndSelectsAPolicyFromThePluginDirectory()
            throws IOException
    {
        // the drop-in path end to end: plugin.dir, selection by property, killer usable
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        writePluginJar(plugins.resolve("my-killer.jar"), true);
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery()
                .properties(Map.of(
                        "node.heap-size", "10MB",
                        "plugin.dir", plugins.toString(),
                        "query.low-memory-killer.policy", "jar-killer"))
                .build()) {
            assertThat(engine.queryKiller().toString()).isEqualTo("jar-killer");
            assertThat(engine.queryKiller().chooseTargetToKill(List.of(), List.of())).isEmpty();
            assertThat(engine.plugins().describe(PolicyFamily.QUERY_KILLER)).containsExactly("jar-killer (JarPlugin from " + plugins.resolve("my-killer.jar") + ")");
        }
    }

    private PluginRegistry loadFromClassPath(String... serviceLines)
            throws IOException
    {
        PluginRegistry registry = new PluginRegistry();
        new PluginLoader(registry).loadFromClassPath(servicesLoader(serviceLines));
        return registry;
    }

    private ClassLoader servicesLoader(String... serviceLines)
            throws IOException
    {
        Path root = Files.createTempDirectory(temp, "classpath");
        Path services = root.resolve(SERVICES);
        Files.createDirectories(services.getParent());
        Files.write(services, List.of(serviceLines), StandardCharsets.UTF_8);
        return new URLClassLoader(new URL[] {root.toUri().toURL()}, PluginLoaderTest.class.getClassLoader());
    }

    private static void writePluginJar(Path jar, boolean withServices)
            throws IOException
    {
        TestJars.write(jar, withServices ? JarPlugin.class : null, JarPlugin.class);
    }

    /** Collects what PluginLoader logs (slf4j-jdk14 hands the formatted message to java.util.logging). */
    private static final class CapturedLog
            extends Handler
            implements AutoCloseable
    {
        private final java.util.logging.Logger logger = java.util.logging.Logger.getLogger(PluginLoader.class.getName());
        private final List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();

        CapturedLog()
        {
            logger.addHandler(this);
        }

        @Override
        public void publish(LogRecord record)
        {
            if (record.getLevel() == Level.WARNING) {
                warnings.add(record.getMessage());
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close()
        {
            logger.removeHandler(this);
        }
    }

    public static class GoodPlugin
            implements MemoryPlugin
    {
        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            return List.of(new NamedKillerFactory("good"));
        }
    }

    public static final class TwinPlugin
            extends GoodPlugin {}

    public static final class ThrowingListPlugin
            implements MemoryPlugin
    {
        @Override
        public List<LowMemoryKillerFactory> lowMemoryKillerFactories()
        {
            throw new IllegalStateException("factories unavailable");
        }
    }

    public static final class ThrowingConstructorPlugin
            implements MemoryPlugin
    {
        public ThrowingConstructorPlugin()
        {
            throw new IllegalStateException("constructor failed");
        }
    }

    private record NamedKillerFactory(String name)
            implements LowMemoryKillerFactory
    {
        @Override
        public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
        {
            return (queries, nodes) -> Optional.empty();
        }
    }
}
