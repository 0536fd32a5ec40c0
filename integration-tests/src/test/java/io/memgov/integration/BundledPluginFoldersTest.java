package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each bundled plugin module packages {@code target/plugin/<artifactId>/}: its jar and its own dependencies, without
 * the SPI. Copied as they are into a plugin directory, the folders give an engine with no plugin on its class path
 * every bundled policy, each in its own class loader.
 */
final class BundledPluginFoldersTest
{
    @TempDir
    Path temp;

    @Test
    void everyBundledPluginFolderHoldsItsJarAndDependenciesButNotTheSpi()
            throws IOException
    {
        for (Path folder : bundledFolders()) {
            List<String> jars = jarsIn(folder);
            String artifactId = folder.getFileName().toString();
            assertThat(jars).as(folder.toString())
                    .anySatisfy(jar -> assertThat(jar).startsWith(artifactId + "-"))
                    .noneSatisfy(jar -> assertThat(jar).startsWith("memgov-spi"));
        }
        // the one bundled plugin with a library brings it along
        assertThat(jarsIn(folder("memgov-plugin-leak-detector"))).anySatisfy(jar -> assertThat(jar).startsWith("caffeine-3."));
    }

    @Test
    void copiedIntoAPluginDirectoryTheFoldersOfferEveryBundledPolicy()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        for (Path folder : bundledFolders()) {
            copyFolder(folder, plugins.resolve(folder.getFileName()));
        }

        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery()
                .property("plugin.dir", plugins.toString())
                .property("node.heap-size", "20MB")
                .property("memory.heap-headroom-per-node", "10MB")
                .property("query.max-memory-per-node", "10MB")
                .property("memory.cluster.poll-interval", "1h")
                .property("memory.tracker.policy", "thread-batched")
                .property("memory.spill-strategy.policy", "largest-first")
                .property("query.low-memory-killer.policy", "total-reservation")
                .property("task.low-memory-killer.policy", "least-waste")
                .property("memory.leak-detector.policy", "leak-detector")
                .build()) {
            assertThat(engine.plugins().warnings()).isEmpty();
            assertThat(engine.plugins().describe(PolicyFamily.QUERY_KILLER)).contains(
                    "none (NonePlugin from " + plugins.resolve("memgov-plugin-none") + ")",
                    "total-reservation (TotalReservationPlugin from " + plugins.resolve("memgov-plugin-total-reservation") + ")",
                    "total-reservation-on-blocked-nodes (BlockedNodesPlugin from " + plugins.resolve("memgov-plugin-blocked-nodes") + ")");
            assertThat(engine.plugins().describe(PolicyFamily.LEAK_DETECTOR))
                    .contains("leak-detector (LeakDetectorPlugin from " + plugins.resolve("memgov-plugin-leak-detector") + ")");
            assertThat(engine.plugins().describe(PolicyFamily.POOL))
                    .contains("reserve-mode (ReserveModePlugin from " + plugins.resolve("memgov-plugin-reserve-mode") + ")");
            assertThat(engine.plugins().describe(PolicyFamily.TRACKER))
                    .anySatisfy(entry -> assertThat(entry).isEqualTo("thread-batched (TreeTrackingPlugin from " + plugins.resolve("memgov-plugin-tree-tracking") + ")"));
            assertThat(engine.plugins().describe(PolicyFamily.SPILL_STRATEGY))
                    .anySatisfy(entry -> assertThat(entry).startsWith("largest-first (").endsWith(" from " + plugins.resolve("memgov-plugin-spill") + ")"));

            // the selected drop-in policies do their work: the tracker and pool account, the loop runs killers and the detector
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
            assertThat(operator.userMemory().setBytes(4 * 1024 * 1024)).isDone();
            assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(4 * 1024 * 1024);
            engine.cluster().process();
            assertThat(query.failure()).isEmpty();
            assertThat(engine.leakDetector().numberOfLeakedQueries()).isZero();
            operator.userMemory().setBytes(0);
            query.close();
            assertThat(engine.node(0).pool().reservedBytes()).isZero();
        }
    }

    private static List<Path> bundledFolders()
    {
        List<Path> folders = new ArrayList<>();
        for (String path : System.getProperty("memgov.bundled-plugin-folders").split(",")) {
            if (!path.isBlank()) {
                Path folder = Path.of(path.trim()).normalize();
                assertThat(folder).as("built by the plugin module's package phase").isDirectory();
                folders.add(folder);
            }
        }
        assertThat(folders).hasSizeGreaterThanOrEqualTo(7);
        return folders;
    }

    private static Path folder(String artifactId)
    {
        return bundledFolders().stream().filter(folder -> folder.getFileName().toString().equals(artifactId)).findFirst().orElseThrow();
    }

    private static List<String> jarsIn(Path folder)
            throws IOException
    {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(file -> file.getFileName().toString()).filter(name -> name.endsWith(".jar")).sorted().toList();
        }
    }

    private static void copyFolder(Path from, Path to)
            throws IOException
    {
        Files.createDirectory(to);
        for (String jar : jarsIn(from)) {
            Files.copy(from.resolve(jar), to.resolve(jar));
        }
        assertThat(Arrays.asList(to.toFile().list())).isNotEmpty();
    }
}
