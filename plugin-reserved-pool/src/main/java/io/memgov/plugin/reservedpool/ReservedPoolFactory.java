package io.memgov.plugin.reservedpool;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;

import java.util.OptionalLong;

import static io.memgov.spi.policy.DataSizes.succinct;

/**
 * Pool policy {@code reserved-pool}: per node a GENERAL pool (heap minus headroom minus the reserved size) where every
 * query starts, and a RESERVED pool of {@code query.max-total-memory-per-node} that the cluster loop fills with the
 * largest query when GENERAL is blocked. Its assigner, {@link ReservedPoolAssignerFactory}, has the same name, so selecting
 * this pool policy selects it too.
 */
final class ReservedPoolFactory
        implements MemoryPoolFactory
{
    static final String NAME = "reserved-pool";
    static final String GENERAL = "general";
    static final String RESERVED = "reserved";
    static final String MAX_TOTAL_MEMORY_PER_NODE = "query.max-total-memory-per-node";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context)
    {
        checkNoKeys(config);
        OptionalLong reserved = context.maxQueryTotalMemoryPerNodeBytes();
        if (reserved.isEmpty()) {
            // Presto sizes RESERVED with this key and defaults it to twice the per-node user limit; memgov has no such
            // default (the key is unset unless configured), and guessing a size for memory that sits idle is worse
            throw new IllegalArgumentException(String.format(
                    "Memory pool '%s' sizes its RESERVED pool with '%s', which is not set. Set it (e.g. %s=2GB) or choose another memory.pool.policy",
                    NAME, MAX_TOTAL_MEMORY_PER_NODE, MAX_TOTAL_MEMORY_PER_NODE));
        }
        long reservedBytes = reserved.getAsLong();
        long generalBytes = context.poolBytes() - reservedBytes;
        if (generalBytes <= 0) {
            throw new IllegalArgumentException(String.format(
                    "Memory pool '%s' leaves no GENERAL pool on node %s: '%s' (%s) must be smaller than the heap minus 'memory.heap-headroom-per-node' (%s)",
                    NAME, context.nodeId(), MAX_TOTAL_MEMORY_PER_NODE, succinct(reservedBytes), succinct(context.poolBytes())));
        }
        return MemoryPoolLayout.of(context.createStandardPool(GENERAL, generalBytes), context.createStandardPool(RESERVED, reservedBytes));
    }

    private static void checkNoKeys(PolicyConfig config)
    {
        if (!config.isEmpty()) {
            String key = config.keys().iterator().next();
            throw new IllegalArgumentException(String.format(
                    "Unknown configuration key '%s%s' (value '%s'): memory pool '%s' has no keys of its own; it is sized by '%s' and 'memory.heap-headroom-per-node'",
                    config.prefix(), key, config.asMap().get(key), NAME, MAX_TOTAL_MEMORY_PER_NODE));
        }
    }
}
