package com.example.memgov.killer;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures.Cluster;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

import static io.memgov.testing.KillerFixtures.context;
import static io.memgov.testing.KillerFixtures.queries;
import static io.memgov.testing.KillerFixtures.query;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The choice of {@code most-tasks-on-blocked-nodes}, on tables of query → node → bytes. Every node's pool holds
 * {@value io.memgov.testing.KillerFixtures#DEFAULT_POOL_BYTES} bytes, so a node is blocked when its column sums to
 * 12 or more.
 */
final class MostTasksOnBlockedNodesLowMemoryKillerTest
{
    private static final String PREFIX = "query.low-memory-killer.most-tasks-on-blocked-nodes.";

    @Test
    void killsTheQuerySpreadOverTheMostBlockedNodesNotTheLargestOne()
    {
        // every node is blocked; killing "wide" unblocks all three, killing "big" (total-reservation's pick) only two
        Cluster cluster = queries(Map.of(
                "big", Map.of("n1", 9L, "n2", 9L),
                "wide", Map.of("n1", 3L, "n2", 3L, "n3", 3L),
                "local", Map.of("n3", 9L)));

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("wide")));
    }

    @Test
    void tasksOnNodesThatAreNotBlockedDoNotCount()
    {
        // n3 holds only 3 bytes: counting it would make "wide" the victim although killing it frees no blocked node more
        Cluster cluster = queries(Map.of(
                "big", Map.of("n1", 9L, "n2", 9L),
                "wide", Map.of("n1", 3L, "n2", 3L, "n3", 3L)));

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("big")));
    }

    @Test
    void equalTaskCountsGoToTheQueryHoldingMoreOnBlockedNodes()
    {
        Cluster cluster = queries(Map.of(
                "a", Map.of("n1", 4L, "n2", 4L),
                "b", Map.of("n1", 8L, "n2", 8L)));

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("b")));
    }

    @Test
    void fullTiesGoToTheQueryListedFirst()
    {
        // the fixture lists queries in id order; the choice must not depend on hash order
        Cluster cluster = queries(Map.of(
                "a", Map.of("n1", 6L, "n2", 6L),
                "b", Map.of("n1", 6L, "n2", 6L)));

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("a")));
    }

    @Test
    void killsNothingWhenNoNodeIsBlocked()
    {
        Cluster cluster = queries(Map.of(
                "a", Map.of("n1", 5L, "n2", 11L),
                "b", Map.of("n1", 6L)));

        assertThat(choose(killer(), cluster)).isEmpty();
    }

    @Test
    void killsNothingWhenTheBlockedNodesHoldOnlyQueriesThatAreNotRunning()
    {
        // a query that just ended still holds its memory in the snapshot, but it is not the killer's to kill
        Cluster cluster = queries(Map.of(
                "ending", Map.of("n1", 12L),
                "elsewhere", Map.of("n2", 5L))).notRunning("ending");

        assertThat(choose(killer(), cluster)).isEmpty();
    }

    @Test
    void tasksBelowTheMinimumDoNotMakeAQueryWide()
    {
        // an exchange buffer of a byte or two on every node should not outweigh the query that fills the nodes
        Cluster cluster = queries(Map.of(
                "buffers", Map.of("n1", 1L, "n2", 1L, "n3", 12L),
                "big", Map.of("n1", 11L, "n2", 11L)));
        LowMemoryKiller strict = new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(config(Map.of("min-task-bytes", "2")), context());

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("buffers")));
        assertThat(choose(strict, cluster)).contains(KillTarget.wholeQuery(query("big")));
    }

    @Test
    void minTaskBytesAcceptsTheSpisSizes()
    {
        // the SPI's PolicyConfig grammar: plain bytes or 1024-based units
        assertThat(choose(new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(config(Map.of("min-task-bytes", "1kB")), context()),
                queries(Map.of("small", Map.of("n1", 1000L, "n2", 1000L), "big", Map.of("n1", 1100L)))))
                .contains(KillTarget.wholeQuery(query("big")));
    }

    @Test
    void rejectsABadMinTaskBytesNamingTheValueAndWhatIsAccepted()
    {
        assertThatThrownBy(() -> new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(config(Map.of("min-task-bytes", "0")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value '0' for '" + PREFIX + "min-task-bytes': expected a size of at least 1B");
        for (String bad : List.of("-1", "MB", "many", "1.5.5MB")) {
            assertThatThrownBy(() -> new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(config(Map.of("min-task-bytes", bad)), context()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Invalid value '" + bad + "' for '" + PREFIX + "min-task-bytes': expected a size such as 512MB");
        }
    }

    @Test
    void rejectsAnUnknownKeyWithTheNearestKnownOne()
    {
        assertThatThrownBy(() -> new MostTasksOnBlockedNodesLowMemoryKillerFactory().create(config(Map.of("min-task-byte", "1")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key '" + PREFIX + "min-task-byte' (value '1'). Did you mean '" + PREFIX + "min-task-bytes'? "
                        + "Accepted under '" + PREFIX + "': [min-task-bytes]");
    }

    @Test
    void serviceLoaderFindsThePluginAndItsQueryKiller()
    {
        // the services file is what makes the jar a plugin; a typo in it would leave the killer unregistered
        List<MemoryPlugin> plugins = ServiceLoader.load(MemoryPlugin.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(plugin -> plugin instanceof MostTasksOnBlockedNodesPlugin)
                .toList();

        assertThat(plugins).hasSize(1);
        assertThat(plugins.get(0).lowMemoryKillerFactories())
                .singleElement()
                .satisfies(factory -> {
                    assertThat(factory.name()).isEqualTo("most-tasks-on-blocked-nodes");
                    assertThat(factory.scope()).isEqualTo(KillerScope.QUERY);
                });
    }

    private static LowMemoryKiller killer()
    {
        LowMemoryKillerFactory factory = new MostTasksOnBlockedNodesLowMemoryKillerFactory();
        return factory.create(PolicyConfig.empty(), context());
    }

    private static PolicyConfig config(Map<String, String> values)
    {
        return PolicyConfig.of(PREFIX, values);
    }

    private static Optional<KillTarget> choose(LowMemoryKiller killer, Cluster cluster)
    {
        return killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes());
    }
}
