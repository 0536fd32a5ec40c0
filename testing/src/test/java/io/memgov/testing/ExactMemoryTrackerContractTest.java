package io.memgov.testing;

import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerFactory;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static io.memgov.testing.BuiltInPolicyContractTest.builtIn;

/**
 * The engine's built-in tracker {@code exact}, as its registered factory creates it, against the tracker contract. It
 * runs here because the engine's own tests cannot depend on the kit, which depends on the engine.
 */
final class ExactMemoryTrackerContractTest
        extends MemoryTrackerContract
{
    // factories are stateless: one engine start for the whole class
    private static final MemoryTrackerFactory EXACT = builtIn(PolicyFamily.TRACKER, "exact");

    @Override
    protected MemoryTracker newRoot(long hardLimitBytes)
    {
        PolicyConfig config = PolicyConfig.of(PolicyFamily.TRACKER.configPrefix("exact"), Map.of("max-server-memory-usage", Long.toString(hardLimitBytes)));
        return EXACT.create(config, TestingNodeContext.create());
    }

    @ParameterizedTest
    @EnumSource(TrackerLevel.class)
    @Disabled("engine defect, reported to the lead: ExactMemoryTracker.allocate raises each level's peak as it adds, before a level "
            + "above refuses, and the rollback leaves those peaks up: after 6 of 10 held and a refused 5, the thread, query and user "
            + "peaks read 11 (limit at the node)")
    @Override
    public void aRefusedAllocationLeavesThePeaksAsTheyWere(TrackerLevel limited)
    {
        super.aRefusedAllocationLeavesThePeaksAsTheyWere(limited);
    }
}
