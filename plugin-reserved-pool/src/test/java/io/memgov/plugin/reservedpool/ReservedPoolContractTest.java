package io.memgov.plugin.reservedpool;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.MemoryPoolAssignerContract;
import io.memgov.testing.MemoryPoolContract;
import io.memgov.testing.TestingClusterContext;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Nested;
import java.util.List;
import java.util.Map;


/**
 * The {@code reserved-pool} policy, as the plugin offers it, against the contracts: both pools of its layout against
 * the pool contract, its assigner against the assigner contract, and the plugin against the plugin contract.
 */
final class ReservedPoolContractTest
{
    private static MemoryPoolLayout layout(long generalBytes, long reservedBytes)
    {
        TestingNodeContext context = TestingNodeContext.builder()
                .heapBytes(generalBytes + reservedBytes)
                .poolBytes(generalBytes + reservedBytes)
                .maxQueryTotalMemoryPerNodeBytes(reservedBytes)
                .build();
        MemoryPoolFactory factory = new ReservedPoolPlugin().memoryPoolFactories().get(0);
        return factory.create(PolicyConfig.of(PolicyFamily.POOL.configPrefix(factory.name()), Map.of()), context);
    }

    @Nested
    final class GeneralPool
            extends LayoutPoolContract
    {
        GeneralPool()
        {
            super(ReservedPoolFactory.GENERAL);
        }
    }

    @Nested
    final class ReservedPool
            extends LayoutPoolContract
    {
        ReservedPool()
        {
            super(ReservedPoolFactory.RESERVED);
        }
    }

    @Nested
    final class Assigner
            extends MemoryPoolAssignerContract
    {
        @Override
        protected MemoryPoolAssigner newAssigner()
        {
            return new ReservedPoolPlugin().memoryPoolAssignerFactories().get(0).create(PolicyConfig.empty(), new TestingClusterContext());
        }

        @Override
        protected List<String> poolIds()
        {
            return List.of(ReservedPoolFactory.GENERAL, ReservedPoolFactory.RESERVED);
        }

        // Presto's rule, documented on ReservedPoolAssigner: out of memory only once RESERVED holds a query and GENERAL is
        // still blocked somewhere
        @Override
        protected boolean usesTheDefaultOutOfMemoryRule()
        {
            return false;
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new ReservedPoolPlugin();
        }

        // the RESERVED pool is sized by query.max-total-memory-per-node, which the node's context carries
        @Override
        protected PolicyContext context(PolicyFamily<?, ?, ?> family)
        {
            return family == PolicyFamily.POOL ? TestingNodeContext.builder().maxQueryTotalMemoryPerNodeBytes(100L << 20).build() : super.context(family);
        }
    }

    /** One pool of the layout, sized by the suite; the other gets 1000 bytes. Both are the engine's standard pool, resizable. */
    private abstract static class LayoutPoolContract
            extends MemoryPoolContract
    {
        private final String poolId;

        LayoutPoolContract(String poolId)
        {
            this.poolId = poolId;
        }

        @Override
        protected MemoryPool newPool(long maxBytes)
        {
            boolean general = poolId.equals(ReservedPoolFactory.GENERAL);
            return layout(general ? maxBytes : 1000, general ? 1000 : maxBytes).pool(poolId).orElseThrow();
        }

        @Override
        protected boolean isResizable()
        {
            return true;
        }
    }
}
