package ${package};

import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures.Cluster;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static io.memgov.testing.KillerFixtures.context;
import static io.memgov.testing.KillerFixtures.queries;
import static io.memgov.testing.KillerFixtures.query;
import static io.memgov.testing.KillerFixtures.tasks;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The choice of {@code ${policyName}}, on tables of query, node, task and bytes (memgov's KillerFixtures). Every
 * node's pool holds 12 bytes, so a node is blocked when its column sums to 12 or more.
 */
final class ${classPrefix}LowMemoryKillerTest
{
    private static final String PREFIX = "query.low-memory-killer.${policyName}.";

    @Test
    void killsTheQueryThatRanForTheShortestTimeOnABlockedNode()
    {
        // both hold memory on the blocked node n1; "fresh" has done the least work, so killing it wastes the least
        Cluster cluster = tasks(Map.of(
                "old", Map.of("n1", Map.of("a", 8L)),
                "fresh", Map.of("n1", Map.of("b", 4L))))
                .executionTime("old.a", Duration.ofMinutes(5))
                .executionTime("fresh.b", Duration.ofSeconds(2));

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("fresh")));
    }

    @Test
    void queriesOnlyOnNodesThatAreNotBlockedAreNeverChosen()
    {
        // "elsewhere" is the youngest, but killing it frees nothing where memory is missing
        Cluster cluster = tasks(Map.of(
                "old", Map.of("n1", Map.of("a", 12L)),
                "elsewhere", Map.of("n2", Map.of("b", 3L))))
                .executionTime("old.a", Duration.ofMinutes(5));

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("old")));
    }

    @Test
    void killsNothingWhenNoNodeIsBlocked()
    {
        assertThat(choose(killer(), queries(Map.of("a", Map.of("n1", 5L), "b", Map.of("n2", 11L))))).isEmpty();
    }

    @Test
    void queriesHoldingLessThanTheMinimumAreNeverChosen()
    {
        Cluster cluster = tasks(Map.of(
                "big", Map.of("n1", Map.of("a", 11L)),
                "crumb", Map.of("n1", Map.of("b", 1L))))
                .executionTime("big.a", Duration.ofMinutes(1));
        LowMemoryKiller strict = new ${classPrefix}LowMemoryKillerFactory().create(PolicyConfig.of(PREFIX, Map.of("min-bytes-on-blocked-nodes", "2")), context());

        assertThat(choose(killer(), cluster)).contains(KillTarget.wholeQuery(query("crumb")));
        assertThat(choose(strict, cluster)).contains(KillTarget.wholeQuery(query("big")));
    }

    @Test
    void rejectsABadMinimumNamingTheKeyAndWhatIsAccepted()
    {
        assertThatThrownBy(() -> new ${classPrefix}LowMemoryKillerFactory().create(PolicyConfig.of(PREFIX, Map.of("min-bytes-on-blocked-nodes", "0")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid value '0' for '" + PREFIX + "min-bytes-on-blocked-nodes': expected a size of at least 1B");
    }

    private static LowMemoryKiller killer()
    {
        return new ${classPrefix}LowMemoryKillerFactory().create(PolicyConfig.empty(), context());
    }

    private static Optional<KillTarget> choose(LowMemoryKiller killer, Cluster cluster)
    {
        return killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes());
    }
}
