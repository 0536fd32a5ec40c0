package io.memgov.testing;

import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolFactory;
import static io.memgov.testing.BuiltInPolicyContractTest.builtIn;


/**
 * The engine's built-in pool {@code fixed}, as its registered factory creates it, against the pool contract. It runs
 * here because the engine's own tests cannot depend on the kit, which depends on the engine.
 */
final class FixedMemoryPoolContractTest
        extends MemoryPoolContract
{
    // factories are stateless: one engine start for the whole class
    private static final MemoryPoolFactory FIXED = builtIn(PolicyFamily.POOL, "fixed");

    @Override
    protected MemoryPool newPool(long maxBytes)
    {
        TestingNodeContext context = TestingNodeContext.builder().heapBytes(maxBytes).poolBytes(maxBytes).build();
        return FIXED.create(PolicyConfig.empty(), context).generalPool();
    }

    @Override
    protected boolean isResizable()
    {
        return true;
    }
}
