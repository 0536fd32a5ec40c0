package io.memgov.cluster.hazelcast;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    /** A {@link MemberProcess} hosting {@code nodeId}. */
    private static ChildJvm member(String nodeId, Map<String, String> properties)
            throws IOException
    {
        List<String> arguments = new ArrayList<>(List.of(nodeId));
        properties.forEach((key, value) -> arguments.add(key + "=" + value));
        return ChildJvm.start(nodeId, "96m", List.of(), MemberProcess.class, arguments);
    }

    @Test
    @Timeout(60)
    void killingTheCoordinatorProcessMovesTheRoleAndReportsItsNode()
            throws Exception
    {
        List<ChildJvm> children = new ArrayList<>();
        try (TestCluster cluster = new TestCluster(Map.of("poll-interval", "1s"))) {
            long launched = System.nanoTime();
            ChildJvm first = member("p1", cluster.properties());
            children.add(first);
            first.awaitLine("READY", CHILD_START);
            first.awaitLine("COORDINATOR true", CHILD_START);
            long firstReady = System.nanoTime();
            ChildJvm second = member("p2", cluster.properties());
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
            for (ChildJvm child : children) {
                child.close();
            }
        }
    }
}
