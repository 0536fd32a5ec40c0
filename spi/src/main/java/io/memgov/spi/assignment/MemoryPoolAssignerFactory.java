package io.memgov.spi.assignment;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates the cluster loop's {@link MemoryPoolAssigner}, selected by {@code memory.pool-assigner.policy}. When that key
 * is not set, the assigner registered under the same name as the selected pool policy is used if there is one (so
 * {@code memory.pool.policy=reserved-pool} brings its own assigner), and the built-in {@code none} otherwise.
 *
 * @since 1.0
 */
@Experimental
public interface MemoryPoolAssignerFactory
        extends PolicyFactory<MemoryPoolAssignerContext, MemoryPoolAssigner>
{
    /**
     * Creates the assigner, once per engine at start-up, after the nodes' pools were created.
     *
     * @param config the keys under {@code memory.pool-assigner.<name>.}, prefix stripped; never null
     */
    @Override
    MemoryPoolAssigner create(PolicyConfig config, MemoryPoolAssignerContext context);
}
