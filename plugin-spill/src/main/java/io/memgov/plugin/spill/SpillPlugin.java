package io.memgov.plugin.spill;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.PolicyConfigKey;
import io.memgov.spi.spill.SpillStrategyFactory;

import java.util.List;

/**
 * Offers the spill strategies of the anchors, selected with {@code memory.spill-strategy.policy}:
 * <ul>
 *     <li>{@code threshold}: Trino's {@code MemoryRevokingScheduler}, oldest task first;</li>
 *     <li>{@code largest-first}: Presto's {@code ORDER_BY_REVOCABLE_BYTES}, largest consumer first;</li>
 *     <li>{@code smallest-sufficient}: Spark's {@code TaskMemoryManager}, the smallest consumer that covers the
 *     need, else the largest, and the requester last;</li>
 *     <li>{@code fair-share}: DataFusion's {@code FairSpillPool}, consumers above their fair share first;</li>
 *     <li>{@code per-task-threshold}: Presto's {@code TaskThresholdMemoryRevokingScheduler}, every consumer of a task
 *     whose revocable bytes exceed {@code task-threshold}.</li>
 * </ul>
 * Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}.
 *
 * @since 0.1
 */
public final class SpillPlugin
        implements MemoryPlugin
{
    @Override
    public List<SpillStrategyFactory> spillStrategyFactories()
    {
        return List.of(
                ConfiguredSpillStrategyFactory.withoutConfig(ThresholdSpillStrategy.NAME, ThresholdSpillStrategy::new),
                ConfiguredSpillStrategyFactory.withoutConfig(LargestFirstSpillStrategy.NAME, LargestFirstSpillStrategy::new),
                ConfiguredSpillStrategyFactory.withoutConfig(SmallestSufficientSpillStrategy.NAME, SmallestSufficientSpillStrategy::new),
                ConfiguredSpillStrategyFactory.withoutConfig(FairShareSpillStrategy.NAME, FairShareSpillStrategy::new),
                new ConfiguredSpillStrategyFactory(
                        PerTaskThresholdSpillStrategy.NAME,
                        List.of(new PolicyConfigKey(PerTaskThresholdSpillStrategy.TASK_THRESHOLD, DataSizes.succinct(PerTaskThresholdSpillStrategy.DEFAULT_TASK_THRESHOLD_BYTES),
                                "a task whose revocable bytes add up to more than this has all its consumers revoked; tasks at or under it are left alone")),
                        PerTaskThresholdSpillStrategy::create));
    }
}
