package io.memgov.plugin.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.memgov.plugin.spill.SpillStrategyTesting.MB;
import static io.memgov.plugin.spill.SpillStrategyTesting.consumer;
import static io.memgov.plugin.spill.SpillStrategyTesting.context;
import static io.memgov.plugin.spill.SpillStrategyTesting.ids;
import static io.memgov.plugin.spill.SpillStrategyTesting.pool;
import static io.memgov.plugin.spill.SpillStrategyTesting.requester;
import static org.assertj.core.api.Assertions.assertThat;

final class SmallestSufficientSpillStrategyTest
{
    private final SpillStrategy strategy = SpillPluginTest.factory("smallest-sufficient").create(PolicyConfig.empty(), context());

    // others.md §4 scenario 17: others use 10/40/100 MB; the requester (id 9) holds 20 MB
    private final List<RevocableConsumerInfo> consumers = List.of(
            consumer(1, "q1.1", 10 * MB, 100, 1),
            consumer(2, "q1.1", 40 * MB, 100, 2),
            consumer(3, "q1.1", 100 * MB, 100, 3),
            requester(9, "q1.1", 20 * MB, 100, 9));

    @Test
    void spillsTheSmallestConsumerThatCoversTheNeedAlone()
    {
        // need 30: the 40 covers it, so neither the 100 nor the 10 is touched
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 200 * MB, 0), consumers, 30 * MB))).containsExactly(2L);
    }

    @Test
    void takesTheLargestWhenNoneCoversTheNeedThenRepeatsWithWhatIsLeft()
    {
        // need 150: nobody covers 150, so the 100; then 40 covers nothing of 50, so the largest left, the 40; then
        // the 10 covers the last 10. The others cover the need exactly, so the requester keeps its memory
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 200 * MB, 0), consumers, 150 * MB))).containsExactly(3L, 2L, 1L);
    }

    @Test
    void spillsTheRequesterLastWhenTheOthersAreNotEnough()
    {
        // scenario 17's "then self": Spark self-spills only while the others leave it short
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 200 * MB, 0), consumers, 160 * MB))).containsExactly(3L, 2L, 1L, 9L);
    }

    @Test
    void neverPicksTheRequesterBeforeAnotherConsumerEvenWhenItWouldFitBetter()
    {
        // the requester's 20 would be the smallest sufficient for 15, but it comes last
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 200 * MB, 0), consumers, 15 * MB))).containsExactly(2L);
    }

    @Test
    void breaksTiesBetweenEqualConsumersByAge()
    {
        List<RevocableConsumerInfo> equal = List.of(
                consumer(1, "q2.1", 40 * MB, 200, 1),
                consumer(2, "q1.1", 40 * MB, 100, 2));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(equal, 200 * MB, 0), equal, 30 * MB))).containsExactly(2L);
        assertThat(ids(strategy.chooseConsumersToRevoke(pool(equal, 200 * MB, 0), equal, 50 * MB))).containsExactly(2L, 1L);
    }
}
