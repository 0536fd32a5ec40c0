package io.memgov.plugin.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.plugin.spill.SpillStrategyTesting.consumer;
import static io.memgov.plugin.spill.SpillStrategyTesting.context;
import static io.memgov.plugin.spill.SpillStrategyTesting.ids;
import static io.memgov.plugin.spill.SpillStrategyTesting.pool;
import static org.assertj.core.api.Assertions.assertThat;

final class LargestFirstSpillStrategyTest
{
    private final SpillStrategy strategy = SpillPluginTest.factory("largest-first").create(PolicyConfig.empty(), context());

    @Test
    void revokesTheLargestConsumerFirstRegardlessOfAge()
    {
        // the youngest task holds the most; Presto's ORDER_BY_REVOCABLE_BYTES takes it alone
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 3, 100, 1),
                consumer(2, "q2.1", 6, 200, 2),
                consumer(3, "q3.1", 9, 300, 3));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 10, 0), consumers, 6))).containsExactly(3L);
    }

    @Test
    void goesOnInDescendingSizeUntilCovered()
    {
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 3, 100, 1),
                consumer(2, "q2.1", 6, 200, 2),
                consumer(3, "q3.1", 9, 300, 3));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 10, 0), consumers, 14))).containsExactly(3L, 2L);
    }

    @Test
    void breaksTiesByOlderTaskThenRegistrationOrder()
    {
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q2.1", 8, 200, 1),
                consumer(2, "q1.1", 8, 100, 3),
                consumer(3, "q1.1", 8, 100, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 10, 0), consumers, 24))).containsExactly(3L, 2L, 1L);
    }

    @Test
    void skipsConsumersWithoutRevocableBytes()
    {
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 0, 100, 1),
                consumer(2, "q1.1", 2, 100, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 10, 0), consumers, 100))).containsExactly(2L);
    }
}
