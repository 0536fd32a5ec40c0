package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.PolicyRegistration;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The example killer of {@code examples/third-party-killer}, built as a jar by the reactor, run on the embedded cluster
 * the way a user would run it: dropped into a plugin directory and selected by property, and, the same jar, from the
 * class path. The scenario is one where it and {@code total-reservation} disagree.
 */
final class ThirdPartyKillerTest
{
    private static final long MB = 1024 * 1024;
    private static final String POLICY = "most-tasks-on-blocked-nodes";
    private static final String KILLED = " CLUSTER_OUT_OF_MEMORY Query killed because the cluster is out of memory. Please try again in a few minutes.";

    @TempDir
    Path temp;

    @Test
    void killerFromThePluginDirectoryKillsTheQueryOnTheMostBlockedNodes()
            throws IOException
    {
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Path jar = Files.copy(exampleJar(), plugins.resolve("third-party-killer.jar"));

        try (MemoryEngine engine = cluster().withoutClassPathDiscovery()
                .property("plugin.dir", plugins.toString())
                .property("query.low-memory-killer.policy", POLICY)
                .build()) {
            assertThat(engine.plugins().describe(PolicyFamily.QUERY_KILLER))
                    .containsExactly(POLICY + " (MostTasksOnBlockedNodesPlugin from " + jar + ")");
            // loaded from the jar in a loader of its own, not from the test class path where the example also is
            PolicyRegistration registration = engine.plugins().find(PolicyFamily.QUERY_KILLER, POLICY).orElseThrow();
            ClassLoader loader = registration.factory().getClass().getClassLoader();
            assertThat(loader).isNotSameAs(ThirdPartyKillerTest.class.getClassLoader());
            assertThat(loader.getName()).isEqualTo("third-party-killer.jar");

            Outcome outcome = runIntoOutOfMemory(engine);

            // "wide" holds 2MB on each node; killing it unblocks all three, where total-reservation kills "big"
            assertThat(outcome.told()).containsExactly("wide" + KILLED);
            assertThat(outcome.blockedNodesAfterKill()).isEmpty();
        }
    }

    @Test
    void totalReservationKillsAnotherQueryInTheSameScenario()
    {
        // the baseline: the largest query goes, and node-2, where it holds nothing, stays blocked
        try (MemoryEngine engine = cluster().property("query.low-memory-killer.policy", "total-reservation").build()) {
            Outcome outcome = runIntoOutOfMemory(engine);

            assertThat(outcome.told()).containsExactly("big" + KILLED);
            assertThat(outcome.blockedNodesAfterKill()).containsExactly("node-2");
        }
    }

    @Test
    void theSameJarWorksFromTheClassPath()
    {
        // the example is a test dependency of this module, so ServiceLoader finds it on the engine's own class path
        try (MemoryEngine engine = cluster().property("query.low-memory-killer.policy", POLICY).build()) {
            PolicyRegistration registration = engine.plugins().find(PolicyFamily.QUERY_KILLER, POLICY).orElseThrow();
            assertThat(registration.origin()).startsWith("MostTasksOnBlockedNodesPlugin from class path (").contains("third-party-killer");
            assertThat(registration.factory().getClass().getClassLoader()).isSameAs(MemoryEngine.class.getClassLoader());

            assertThat(runIntoOutOfMemory(engine).told()).containsExactly("wide" + KILLED);
        }
    }

    @Test
    void configurationUnderThePolicysPrefixReachesTheDropInKiller()
            throws IOException
    {
        // with min-task-bytes=3MB the 2MB tasks of "wide" no longer count: "big" has the most tasks on blocked nodes
        Path plugins = Files.createDirectory(temp.resolve("plugins"));
        Files.copy(exampleJar(), plugins.resolve("third-party-killer.jar"));

        try (MemoryEngine engine = cluster().withoutClassPathDiscovery()
                .property("plugin.dir", plugins.toString())
                .property("query.low-memory-killer.policy", POLICY)
                .property("query.low-memory-killer." + POLICY + ".min-task-bytes", "3MB")
                .build()) {
            assertThat(runIntoOutOfMemory(engine).told()).containsExactly("big" + KILLED);
        }
    }

    private static Path exampleJar()
    {
        Path jar = Path.of(System.getProperty("memgov.third-party-killer.jar"));
        assertThat(jar).as("built by the reactor before this module").exists();
        return jar;
    }

    private static MemoryEngine.Builder cluster()
    {
        // three nodes with 10MB pools; the loop runs only when the test calls process()
        return MemoryEngine.builder()
                .property("cluster.node-count", "3")
                .property("node.heap-size", "20MB")
                .property("memory.heap-headroom-per-node", "10MB")
                .property("query.max-memory-per-node", "10MB")
                .property("memory.cluster.poll-interval", "1h");
    }

    private record Outcome(List<String> told, List<String> blockedNodesAfterKill) {}

    /**
     * Fills every node past its pool with real query contexts, runs one round of the cluster loop and reports who was
     * killed and which nodes are still blocked.
     *
     * <pre>
     *           node-0  node-1  node-2   total
     *   big       9MB     9MB      -      18MB
     *   wide      2MB     2MB     2MB      6MB
     *   local      -       -      9MB      9MB
     *   (pool)   11/10   11/10   11/10
     * </pre>
     */
    private static Outcome runIntoOutOfMemory(MemoryEngine engine)
    {
        List<String> told = new CopyOnWriteArrayList<>();
        engine.addQueryFailureListener((queryId, tasks, code, message) -> told.add(queryId + " " + code + " " + message));
        List<QueryMemoryContext> contexts = new ArrayList<>();
        // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
        List<OperatorMemoryContext> operators = new ArrayList<>();
        Map<String, long[]> table = Map.of(
                "big", new long[] {9 * MB, 9 * MB, 0},
                "local", new long[] {0, 0, 9 * MB},
                "wide", new long[] {2 * MB, 2 * MB, 2 * MB});
        for (String query : List.of("big", "local", "wide")) {
            long[] bytes = table.get(query);
            for (int node = 0; node < bytes.length; node++) {
                if (bytes[node] == 0) {
                    continue;
                }
                QueryMemoryContext context = engine.node(node).createQuery(QueryId.of(query), QuerySession.of("alice"));
                contexts.add(context);
                OperatorMemoryContext operator = context.addTask("0." + node).addOperator("HashAggregation");
                operators.add(operator);
                operator.userMemory().setBytes(bytes[node]);
            }
        }
        for (NodeMemory node : engine.nodes()) {
            assertThat(node.info().isBlocked()).as("%s blocked before the round", node.nodeId()).isTrue();
        }

        engine.cluster().process();

        List<String> blocked = engine.nodes().stream()
                .filter(node -> node.info().isBlocked())
                .map(node -> node.nodeId().toString())
                .toList();
        contexts.forEach(QueryMemoryContext::close);
        Reference.reachabilityFence(operators);
        return new Outcome(List.copyOf(told), blocked);
    }
}
