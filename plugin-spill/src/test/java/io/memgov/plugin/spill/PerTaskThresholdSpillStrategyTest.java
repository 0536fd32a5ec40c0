package io.memgov.plugin.spill;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.memgov.plugin.spill.SpillStrategyTesting.MB;
import static io.memgov.plugin.spill.SpillStrategyTesting.consumer;
import static io.memgov.plugin.spill.SpillStrategyTesting.context;
import static io.memgov.plugin.spill.SpillStrategyTesting.ids;
import static io.memgov.plugin.spill.SpillStrategyTesting.pool;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class PerTaskThresholdSpillStrategyTest
{
    @Test
    void defaultsToPrestosFiveHundredMegabytesPerTask()
    {
        assertThat(create(config(Map.of())).taskThresholdBytes()).isEqualTo(500 * MB);
    }

    @Test
    void readsTheThresholdInEverySizeNotation()
    {
        assertThat(create(config(Map.of("task-threshold", "1GB"))).taskThresholdBytes()).isEqualTo(1024 * MB);
        assertThat(create(config(Map.of("task-threshold", "1.5GB"))).taskThresholdBytes()).isEqualTo(1536 * MB);
        assertThat(create(config(Map.of("task-threshold", "64kB"))).taskThresholdBytes()).isEqualTo(64 * 1024);
        assertThat(create(config(Map.of("task-threshold", "12345"))).taskThresholdBytes()).isEqualTo(12345);
        assertThat(create(config(Map.of("task-threshold", "0B"))).taskThresholdBytes()).isZero();
    }

    @Test
    void rejectsABadSizeNamingTheKeyTheValueAndWhatIsAccepted()
    {
        for (String bad : List.of("lots", "-1MB", "5XB", "", "99999999PB")) {
            assertThatThrownBy(() -> create(config(Map.of("task-threshold", bad))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Invalid value '" + bad + "' for 'memory.spill-strategy.per-task-threshold.task-threshold': expected a size");
        }
    }

    @Test
    void revokesEveryConsumerOfATaskOverTheThresholdWhateverTheAmountAsked()
    {
        // q1.1 holds 30 + 80 = 110 > 100: both are revoked though 1 byte was asked; q2.1 (90) and q3.1 (100, not
        // more than the threshold) are left alone
        SpillStrategy strategy = create(config(Map.of("task-threshold", "100B")));
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 30, 100, 1),
                consumer(2, "q2.1", 90, 50, 2),
                consumer(3, "q1.1", 80, 100, 3),
                consumer(4, "q3.1", 100, 10, 4));

        assertThat(strategy.chooseConsumersToRevoke(pool(consumers, 1000, 0), consumers, 1))
                .extracting(request -> request.consumerId() + "=" + request.expectedBytes())
                .containsExactly("1=30", "3=80");
    }

    @Test
    void revokesNothingWhileNoTaskIsOverTheThresholdEvenIfThePoolNeedsMemory()
    {
        SpillStrategy strategy = create(config(Map.of("task-threshold", "100B")));
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q1.1", 60, 100, 1),
                consumer(2, "q2.1", 60, 200, 2));

        assertThat(strategy.chooseConsumersToRevoke(pool(consumers, 100, 0), consumers, 1000)).isEmpty();
    }

    @Test
    void takesTasksOldestFirstAndSkipsEmptyConsumers()
    {
        SpillStrategy strategy = create(config(Map.of("task-threshold", "10B")));
        List<RevocableConsumerInfo> consumers = List.of(
                consumer(1, "q2.1", 20, 200, 1),
                consumer(2, "q1.1", 0, 100, 2),
                consumer(3, "q1.1", 20, 100, 3));

        assertThat(ids(strategy.chooseConsumersToRevoke(pool(consumers, 100, 0), consumers, 1))).containsExactly(3L, 1L);
    }

    private static PerTaskThresholdSpillStrategy create(PolicyConfig config)
    {
        return (PerTaskThresholdSpillStrategy) SpillPluginTest.factory("per-task-threshold").create(config, context());
    }

    private static PolicyConfig config(Map<String, String> values)
    {
        return PolicyConfig.of("memory.spill-strategy.per-task-threshold.", values);
    }
}
