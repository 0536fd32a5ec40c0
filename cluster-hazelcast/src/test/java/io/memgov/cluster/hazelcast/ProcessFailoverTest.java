package io.memgov.cluster.hazelcast;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Members in their own JVMs on 127.0.0.1 with small heaps: the coordinator's process is killed (SIGKILL, no
 * goodbye), and the role and the node loss must follow within two poll intervals.
 */
final class ProcessFailoverTest
{
    private static final Duration POLL_INTERVAL = Duration.ofSeconds(1);
    private static final Duration TWO_POLL_INTERVALS = POLL_INTERVAL.multipliedBy(2);
    private static final Duration CHILD_START = Duration.ofSeconds(30);

    @Test
    @Timeout(60)
    void killingTheCoordinatorProcessMovesTheRoleAndReportsItsNode()
            throws Exception
    {
        List<Child> children = new ArrayList<>();
        try (TestCluster cluster = new TestCluster(Map.of("poll-interval", "1s"))) {
            long launched = System.nanoTime();
            Child first = Child.start("p1", cluster.properties());
            children.add(first);
            first.awaitLine("READY", CHILD_START);
            first.awaitLine("COORDINATOR true", CHILD_START);
            long firstReady = System.nanoTime();
            Child second = Child.start("p2", cluster.properties());
            children.add(second);
            second.awaitLine("READY", CHILD_START);
            System.out.printf("[measure] child JVM (-Xmx96m) launched to member ready: first %d ms, second (joining) %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(firstReady - launched), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - firstReady));
            RecordingListener listener = new RecordingListener();
            HazelcastMembership observer = cluster.start(Set.of("t1"), listener);
            observer.publishSnapshot("t1", "snapshot of t1".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(10)).until(() -> observer.liveSnapshots().keySet().equals(Set.of("p1", "p2", "t1")));
            assertThat(observer.isCoordinator()).isFalse();
            assertThat(observer.liveSnapshots().get("p1").payload()).asString(StandardCharsets.UTF_8).isEqualTo("snapshot of p1");

            long killedNanos = System.nanoTime();
            long killedMillis = System.currentTimeMillis();
            first.process.destroyForcibly();

            String taken = second.awaitLine("COORDINATOR true", TWO_POLL_INTERVALS.plusSeconds(3));
            await().atMost(TWO_POLL_INTERVALS).until(() -> !listener.lostNodes.isEmpty());
            long failoverMillis = Long.parseLong(taken.split(" ")[2]) - killedMillis;
            long lostMillis = TimeUnit.NANOSECONDS.toMillis(listener.lostNodes.get(0).nanos() - killedNanos);
            System.out.printf("[measure] coordinator process killed: role moved after %d ms, node loss reported after %d ms (poll interval %s)%n",
                    failoverMillis, lostMillis, HazelcastSettings.format(POLL_INTERVAL));

            assertThat(failoverMillis).isLessThanOrEqualTo(TWO_POLL_INTERVALS.toMillis());
            assertThat(listener.lost()).containsExactly(Set.of("p1"));
            assertThat(listener.coordinator()).isEmpty();
            assertThat(observer.liveSnapshots().keySet()).containsExactly("p2", "t1");
            // a command still reaches the surviving process
            observer.sendCommand(Set.of("p2"), "kill q7".getBytes(StandardCharsets.UTF_8));
            second.awaitLine("COMMAND p2 kill q7", Duration.ofSeconds(5));
            assertThat(first.process.waitFor(5, TimeUnit.SECONDS)).isTrue();
        }
        finally {
            for (Child child : children) {
                child.destroy();
            }
        }
    }

    /** A {@link MemberProcess} JVM and the lines it printed. */
    private static final class Child
    {
        private final Process process;
        private final BlockingQueue<String> newLines = new LinkedBlockingQueue<>();
        private final List<String> output = new java.util.concurrent.CopyOnWriteArrayList<>();

        private Child(Process process)
        {
            this.process = process;
            Thread reader = new Thread(this::readOutput, "output of " + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        static Child start(String nodeId, Map<String, String> properties)
                throws IOException
        {
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx96m",
                    "-XX:+ExitOnOutOfMemoryError",
                    "--add-modules", "java.se",
                    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
                    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens", "java.management/sun.management=ALL-UNNAMED",
                    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path")));
            String loggingConfig = System.getProperty("java.util.logging.config.file");
            if (loggingConfig != null) {
                command.add("-Djava.util.logging.config.file=" + loggingConfig);
            }
            command.add(MemberProcess.class.getName());
            command.add(nodeId);
            properties.forEach((key, value) -> command.add(key + "=" + value));
            return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        private void readOutput()
        {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    output.add(line);
                    newLines.add(line);
                }
            }
            catch (IOException e) {
                // the process was killed while its output was read; what was read is kept
                output.add("(output ended: " + e + ")");
            }
        }

        /** Waits until the process has printed a line starting with {@code prefix}, and returns the first such line. */
        String awaitLine(String prefix, Duration timeout)
                throws InterruptedException
        {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (String line : output) {
                    if (line.startsWith(prefix)) {
                        return line;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("No line starting with '" + prefix + "' within " + timeout + " from process " + process.pid()
                            + ". Its output:\n" + String.join("\n", output));
                }
                // wakes up with the next line
                newLines.poll(left, TimeUnit.NANOSECONDS);
            }
        }

        void destroy()
                throws InterruptedException
        {
            process.destroyForcibly();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new UncheckedIOException(new IOException("process " + process.pid() + " did not end within 10s"));
            }
        }
    }
}
