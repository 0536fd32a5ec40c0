package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.testing.LoopbackPorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Hazelcast cluster transport as a host deploys it: its folder, {@code target/plugin/memgov-cluster-hazelcast/},
 * copied into {@code plugin.dir} of an engine whose class path has neither the plugin nor Hazelcast. The plugin's
 * libraries stay in its class loader, and its log records (Hazelcast's included) reach the host's SLF4J binding, here
 * slf4j-jdk14.
 */
final class HazelcastPluginFolderTest
{
    @TempDir
    Path temp;

    @Test
    @Timeout(60)
    void theTransportRunsFromItsFolderWithHazelcastOffTheClassPathAndLogsThroughTheHost()
            throws IOException
    {
        assertThatThrownBy(() -> Class.forName("com.hazelcast.core.Hazelcast")).isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> Class.forName("io.memgov.cluster.hazelcast.HazelcastPlugin")).isInstanceOf(ClassNotFoundException.class);
        Path folder = Path.of(System.getProperty("memgov.cluster-hazelcast.plugin-folder"));
        assertThat(jarsIn(folder)).anySatisfy(jar -> assertThat(jar).startsWith("hazelcast-5."))
                .anySatisfy(jar -> assertThat(jar).startsWith("memgov-json-"))
                .noneSatisfy(jar -> assertThat(jar).startsWith("memgov-spi"))
                .noneSatisfy(jar -> assertThat(jar).startsWith("memgov-engine"));
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Path copy = Files.createDirectory(plugins.resolve(folder.getFileName()));
        for (String jar : jarsIn(folder)) {
            Files.copy(folder.resolve(jar), copy.resolve(jar));
        }

        Records records = new Records();
        Logger root = Logger.getLogger("");
        root.addHandler(records);
        try (MemoryEngine engine = MemoryEngine.builder()
                .property("plugin.dir", plugins.toString())
                .property("node.id", "solo")
                .property("memory.cluster.poll-interval", "1h")
                .property("cluster.transport.policy", "hazelcast")
                .property("cluster.transport.hazelcast.cluster-name", "plugin-folder-" + ProcessHandle.current().pid())
                .property("cluster.transport.hazelcast.port", Integer.toString(LoopbackPorts.freeRange(3)))
                .property("cluster.transport.hazelcast.port-count", "3")
                .withoutJmx()
                .build()) {
            assertThat(engine.policyName(PolicyFamily.CLUSTER_TRANSPORT)).isEqualTo("hazelcast");
            assertThat(engine.plugins().describe(PolicyFamily.CLUSTER_TRANSPORT))
                    .contains("hazelcast (HazelcastPlugin from " + plugins.resolve("memgov-cluster-hazelcast") + ")");

            // alone in its cluster, the engine coordinates its own node through the transport
            engine.cluster().process();
            assertThat(engine.cluster().lastNodes()).extracting(NodeMemoryInfo::nodeId).extracting(Object::toString).containsExactly("solo");
            assertThat(engine.metrics().snapshot()).containsEntry("cluster.transport.policy.coordinator", 1L);
        }
        finally {
            root.removeHandler(records);
        }
        assertThat(records.loggers()).contains("io.memgov.cluster.hazelcast.HazelcastMembership")
                .anySatisfy(logger -> assertThat(logger).startsWith("com.hazelcast."));
        // still not on the class path after the plugin ran
        assertThatThrownBy(() -> Class.forName("com.hazelcast.core.Hazelcast")).isInstanceOf(ClassNotFoundException.class);
    }


    private static List<String> jarsIn(Path folder)
            throws IOException
    {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(file -> file.getFileName().toString()).filter(name -> name.endsWith(".jar")).sorted().toList();
        }
    }

    /** What reached java.util.logging, which slf4j-jdk14 (the host's binding in these tests) writes to. */
    private static final class Records
            extends Handler
    {
        private final List<LogRecord> records = new CopyOnWriteArrayList<>();

        Records()
        {
            setLevel(Level.ALL);
        }

        List<String> loggers()
        {
            return records.stream().map(LogRecord::getLoggerName).distinct().toList();
        }

        @Override
        public void publish(LogRecord record)
        {
            records.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }
}
