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

final class FairShareSpillStrategyTest
{
    private final SpillStrategy strategy = SpillPluginTest.factory("fair-share").create(PolicyConfig.empty(), context());

    @Test
    void givesEachSpillerAnEqualShareOfWhatTheUnspillableMemoryLeaves()
    {
        // others.md §4 scenario 14: pool 100, 20 unspillable, 2 spillers: each is entitled to (100 - 20) / 2 = 40
        assertThat(FairShareSpillStrategy.fairShare(pool(100, 20, 80), 2)).isEqualTo(40);
    }

    @Test
    void revokesTheSpillerAboveItsShareFirst()
    {
        // scenario 14 with the first spiller at 55 (15 over) and the second at 25: a 5-byte need takes the first
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 25, 100, 1),
                consumer(2, "q2.1", 55, 200, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 20), consumers, 5))).containsExactly(2L);
    }

    @Test
    void revokesEverySpillerAboveItsShareEvenWhenFewerBytesWouldDo()
    {
        // a spiller may never hold more than its share: 45 and 41 are both over 40, though 45 alone covers 5
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 41, 100, 1),
                consumer(2, "q2.1", 45, 200, 2),
                consumer(3, "q3.1", 10, 300, 3));

        // share = (100 - 4) / 3 = 32
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 4), consumers, 5))).containsExactly(2L, 1L);
    }

    @Test
    void takesTheOthersLargestFirstWhenTheSpillersAboveTheirShareAreNotEnough()
    {
        // scenario 14 at the limit: both spillers at exactly 40; nobody is over, so the larger goes, ties by age
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q2.1", 40, 200, 1),
                consumer(2, "q1.1", 40, 100, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 20), consumers, 10))).containsExactly(2L);
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 20), consumers, 50))).containsExactly(2L, 1L);
    }

    @Test
    void leavesNoShareWhenUnspillableMemoryFillsThePool()
    {
        // user memory at or over the maximum: every spiller is over a zero share
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 1, 100, 1),
                consumer(2, "q2.1", 2, 200, 2));

        assertThat(FairShareSpillStrategy.fairShare(pool(100, 120, 3), 2)).isZero();
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 120), consumers, 1))).containsExactly(2L, 1L);
    }

    @Test
    void countsOnlyConsumersThatHoldRevocableBytesAsSpillers()
    {
        // an idle consumer does not dilute the share: (100 - 20) / 1 = 80, so 60 is within its share
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 60, 100, 1),
                consumer(2, "q2.1", 0, 200, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 20), consumers, 10))).containsExactly(1L);
    }
}
