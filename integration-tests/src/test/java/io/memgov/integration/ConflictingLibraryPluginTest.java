package io.memgov.integration;

import com.github.benmanes.caffeine.cache.Caffeine;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.Reference;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A plugin compiled against, and shipped with, Caffeine 2.9.3 while the engine runs Caffeine 3.1.8: in its own folder
 * of {@code plugin.dir} it loads, sees its own 2.x classes, and kills through a 2.x cache on the embedded cluster.
 */
final class ConflictingLibraryPluginTest
{
    private static final String PLUGIN_CLASS = "org.example.conflict.RecentVictimsPlugin";

    // uses Caffeine 2.x to remember recent victims, so that the same query is not picked twice in a minute
    private static final String PLUGIN_SOURCE = """
            package org.example.conflict;

            import com.github.benmanes.caffeine.cache.Cache;
            import com.github.benmanes.caffeine.cache.Caffeine;
            import io.memgov.spi.MemoryPlugin;
            import io.memgov.spi.policy.PolicyConfig;
            import io.memgov.spi.query.QueryId;
            import io.memgov.spi.killer.KillTarget;
            import io.memgov.spi.killer.LowMemoryKiller;
            import io.memgov.spi.killer.LowMemoryKillerContext;
            import io.memgov.spi.killer.LowMemoryKillerFactory;
            import io.memgov.spi.cluster.NodeMemoryInfo;
            import io.memgov.spi.cluster.RunningQueryInfo;

            import java.time.Duration;
            import java.util.List;
                        import java.util.Optional;

            public final class RecentVictimsPlugin implements MemoryPlugin {
                public static volatile String contextLoaderWhileChoosing;

                @Override
                public List<LowMemoryKillerFactory> lowMemoryKillerFactories() {
                    return List.of(new LowMemoryKillerFactory() {
                        @Override
                        public String name() {
                            return "largest-not-recently-killed";
                        }

                        @Override
                        public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context) {
                            Cache<QueryId, Boolean> recent = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(1)).maximumSize(1000).build();
                            return (queries, nodes) -> choose(recent, queries);
                        }
                    });
                }

                private static Optional<KillTarget> choose(Cache<QueryId, Boolean> recent, List<RunningQueryInfo> queries) {
                    contextLoaderWhileChoosing = Thread.currentThread().getContextClassLoader().getName();
                    RunningQueryInfo victim = null;
                    for (RunningQueryInfo query : queries) {
                        if (recent.getIfPresent(query.queryId()) == null && query.totalReservationBytes() > 0
                                && (victim == null || query.totalReservationBytes() > victim.totalReservationBytes())) {
                            victim = query;
                        }
                    }
                    if (victim == null) {
                        return Optional.empty();
                    }
                    recent.put(victim.queryId(), true);
                    return Optional.of(KillTarget.wholeQuery(victim.queryId()));
                }

                public static String caffeineLocation() {
                    return Caffeine.class.getProtectionDomain().getCodeSource().getLocation().toString();
                }
            }
            """;

    @TempDir
    Path temp;

    @Test
    void pluginWithItsOwnOlderCaffeineLoadsAndKillsWhileTheEngineKeepsCaffeine3()
            throws Exception
    {
        Path caffeine2 = Path.of(System.getProperty("memgov.caffeine-2.jar"));
        assertThat(caffeine2).as("copied by maven-dependency-plugin").exists();
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Path folder = Files.createDirectory(plugins.resolve("recent-victims"));
        buildPlugin(temp, folder.resolve("recent-victims.jar"), caffeine2);
        Files.copy(caffeine2, folder.resolve(caffeine2.getFileName()));

        List<String> told = new CopyOnWriteArrayList<>();
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery()
                .property("plugin.dir", plugins.toString())
                .property("node.heap-size", "20MB")
                .property("memory.heap-headroom-per-node", "10MB")
                .property("query.max-memory-per-node", "10MB")
                .property("memory.cluster.poll-interval", "1h")
                .property("query.low-memory-killer.policy", "largest-not-recently-killed")
                .build()) {
            assertThat(engine.plugins().describe(PolicyFamily.QUERY_KILLER)).containsExactly(
                    "largest-not-recently-killed (RecentVictimsPlugin from " + folder + ")");
            Class<?> pluginClass = engine.plugins().find(PolicyFamily.QUERY_KILLER, "largest-not-recently-killed").orElseThrow()
                    .factory().getClass().getClassLoader().loadClass(PLUGIN_CLASS);

            // the plugin sees its 2.x, the engine (and this test) 3.x; two different Caffeine classes in one JVM
            String pluginCaffeine = (String) pluginClass.getMethod("caffeineLocation").invoke(null);
            assertThat(pluginCaffeine).endsWith("/caffeine-2.9.3.jar");
            assertThat(Caffeine.class.getProtectionDomain().getCodeSource().getLocation().toString()).endsWith("/caffeine-3.1.8.jar");
            assertThat(pluginClass.getClassLoader().loadClass(Caffeine.class.getName())).isNotSameAs(Caffeine.class);

            engine.addQueryFailureListener((queryId, tasks, code, message) -> told.add(queryId + " " + code));
            QueryMemoryContext big = engine.node(0).createQuery(QueryId.of("big"), QuerySession.of("alice"));
            QueryMemoryContext small = engine.node(0).createQuery(QueryId.of("small"), QuerySession.of("bob"));
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext bigAggregation = big.addTask("0").addOperator("HashAggregation");
            bigAggregation.userMemory().setBytes(7 * 1024 * 1024);
            OperatorMemoryContext smallAggregation = small.addTask("0").addOperator("HashAggregation");
            smallAggregation.userMemory().setBytes(4 * 1024 * 1024);

            engine.cluster().process();

            assertThat(told).containsExactly("big CLUSTER_OUT_OF_MEMORY");
            assertThat(pluginClass.getField("contextLoaderWhileChoosing").get(null)).isEqualTo("recent-victims");
            big.close();
            small.close();
            Reference.reachabilityFence(bigAggregation);
            Reference.reachabilityFence(smallAggregation);
        }
    }

    private static void buildPlugin(Path workDirectory, Path jar, Path caffeine2)
            throws IOException, URISyntaxException
    {
        Path sources = Files.createDirectories(workDirectory.resolve("src/org/example/conflict"));
        Path classes = Files.createDirectories(workDirectory.resolve("classes"));
        Path source = Files.writeString(sources.resolve("RecentVictimsPlugin.java"), PLUGIN_SOURCE);
        Path spi = Path.of(MemoryPlugin.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        // compiled against the 2.x jar and the SPI only, as the plugin's author would
        int status = javac.run(null, errors, errors, "--release", "17", "-proc:none",
                "-classpath", spi + java.io.File.pathSeparator + caffeine2,
                "-d", classes.toString(), source.toString());
        assertThat(status).as(errors.toString(StandardCharsets.UTF_8)).isZero();

        try (OutputStream file = Files.newOutputStream(jar);
                JarOutputStream out = new JarOutputStream(file);
                Stream<Path> compiled = Files.walk(classes)) {
            for (Path classFile : compiled.filter(Files::isRegularFile).toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(classFile).toString().replace('\\', '/')));
                Files.copy(classFile, out);
                out.closeEntry();
            }
            out.putNextEntry(new JarEntry("META-INF/services/" + MemoryPlugin.class.getName()));
            out.write((PLUGIN_CLASS + "\n").getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
    }
}
