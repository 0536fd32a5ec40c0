package io.memgov.plugin.none;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.KillerFixtures;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.memgov.testing.KillerFixtures.context;
import static io.memgov.testing.KillerFixtures.queries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class NoneLowMemoryKillerTest
{
    @Test
    void killsNothingEvenWhenEveryNodeIsBlocked()
    {
        // n1 and n2 are both over their 12-byte pools: any other killer would act, "none" must still do nothing
        KillerFixtures.Cluster cluster = queries(Map.of(
                "q1", Map.of("n1", 12L),
                "q2", Map.of("n2", 20L)));
        assertThat(cluster.nodes()).allMatch(node -> node.isBlocked());

        for (KillerScope scope : KillerScope.values()) {
            LowMemoryKiller killer = new NoneLowMemoryKillerFactory(scope).create(PolicyConfig.empty(), context());
            assertThat(killer.chooseTargetToKill(cluster.runningQueries(), cluster.nodes())).isEmpty();
        }
    }

    @Test
    void rejectsAnyConfigurationKey()
    {
        // "none" takes no settings, so a key under its prefix is a typo that must fail start-up, not be ignored
        assertThatThrownBy(() -> new NoneLowMemoryKillerFactory(KillerScope.TASK).create(PolicyConfig.of("task.low-memory-killer.none.", Map.of("delay", "5m")), context()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'task.low-memory-killer.none.delay' (value '5m'). No keys are accepted under 'task.low-memory-killer.none.'");
    }
}
