package io.memgov.plugin.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.plugin.spill.SpillStrategyTesting.consumer;
import static io.memgov.plugin.spill.SpillStrategyTesting.context;
import static io.memgov.plugin.spill.SpillStrategyTesting.ids;
import static io.memgov.plugin.spill.SpillStrategyTesting.pool;
import static org.assertj.core.api.Assertions.assertThat;

final class ThresholdSpillStrategyTest
{
    private final SpillStrategy strategy = SpillPluginTest.factory("threshold").create(PolicyConfig.empty(), context());

    @Test
    void revokesTheOldestTasksOperatorsUntilTheAmountIsCovered()
    {
        // trino-presto.md scenario 15: pool 10, threshold = target = 1; op1 3 and op3 6 in the older task, op4 7 in
        // the younger one; free is -6, so 6 bytes are needed: op1 and op3, never op4 (op2 holds nothing)
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 3, 100, 1),
                consumer(2, "q1.1", 0, 100, 2),
                consumer(3, "q1.1", 6, 100, 3),
                consumer(4, "q2.1", 7, 200, 4));

        List<RevokeRequest> requests = strategy.chooseConsumersToRevoke(pool(consumers, 10, 0), consumers, 6);

        assertThat(requests).containsExactly(new RevokeRequest(1, 3), new RevokeRequest(3, 6));
    }

    @Test
    void asksOnlyTheRemainingConsumerOnceTheFirstHasNothingLeft()
    {
        // scenario 15, continued: op1 dropped to 0, so only op3 is asked
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 0, 100, 1),
                consumer(3, "q1.1", 6, 100, 3),
                consumer(4, "q2.1", 7, 200, 4));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 10, 0), consumers, 3))).containsExactly(3L);
    }

    @Test
    void ordersByTaskCreationTimeBeforeRegistrationOrder()
    {
        // the older task's operator registered later, yet its task goes first
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q2.1", 10, 200, 1),
                consumer(2, "q1.1", 10, 100, 2),
                consumer(3, "q1.1", 10, 100, 3));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 0), consumers, 30))).containsExactly(2L, 3L, 1L);
    }

    @Test
    void keepsATasksOperatorsTogetherWhenTwoTasksWereCreatedAtTheSameInstant()
    {
        // registration interleaves the tasks; Trino walks task by task, so q1.1's operators stay together
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 5, 100, 1),
                consumer(2, "q1.2", 5, 100, 2),
                consumer(3, "q1.1", 5, 100, 3));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 0), consumers, 15))).containsExactly(1L, 3L, 2L);
    }

    @Test
    void stopsAsSoonAsTheSumReachesTheAmountEvenIfTheLastConsumerOvershoots()
    {
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 4, 100, 1),
                consumer(2, "q1.1", 50, 100, 2),
                consumer(3, "q1.1", 1, 100, 3));

        assertThat(strategy.chooseConsumersToRevoke(pool(consumers, 100, 0), consumers, 5))
                .containsExactly(new RevokeRequest(1, 4), new RevokeRequest(2, 50));
    }

    @Test
    void asksEveryoneWhenEveryoneTogetherIsNotEnough()
    {
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 4, 100, 1),
                consumer(2, "q2.1", 5, 200, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 0), consumers, 1000))).containsExactly(1L, 2L);
    }

    @Test
    void choosesNothingWhenNoConsumerHoldsRevocableBytes()
    {
        List<RevocableConsumerInfo> consumers = List.of(consumer(1, "q1.1", 0, 100, 1));

        assertThat(strategy.chooseConsumersToRevoke(pool(100, 0, 0), consumers, 10)).isEmpty();
    }
}
