package io.memgov.testing;

import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.MemoryTrackerFactory;
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
}
