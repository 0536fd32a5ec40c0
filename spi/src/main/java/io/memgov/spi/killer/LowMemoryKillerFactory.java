package io.memgov.spi.killer;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyFactory;

/**
 * Creates a low-memory killer, selected by {@code query.low-memory-killer.policy} or
 * {@code task.low-memory-killer.policy} (as its {@link #scope()} says).
 *
 * <pre>{@code
 * query.low-memory-killer.policy=total-reservation-on-blocked-nodes
 * # keys under the policy's prefix reach the factory with the prefix stripped
 * query.low-memory-killer.total-reservation-on-blocked-nodes.some-key=value
 * }</pre>
 *
 * @since 1.0
 */
public interface LowMemoryKillerFactory
        extends PolicyFactory<LowMemoryKillerContext, LowMemoryKiller>
{
    /** Whether this is a query killer or a task killer. A name is unique within its scope. */
    default KillerScope scope()
    {
        return KillerScope.QUERY;
    }

    /**
     * Creates the killer, once per engine at start-up.
     *
     * @param config the keys under {@code <scope>.low-memory-killer.<name>.}, prefix stripped; never null
     */
    @Override
    LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context);
}
