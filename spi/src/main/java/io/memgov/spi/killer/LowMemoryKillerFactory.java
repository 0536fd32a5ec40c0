package io.memgov.spi.killer;

import java.util.Map;

/**
 * Creates a low-memory killer, selected by {@code query.low-memory-killer.policy} or
 * {@code task.low-memory-killer.policy}.
 *
 * <pre>{@code
 * query.low-memory-killer.policy=total-reservation-on-blocked-nodes
 * # keys under the policy's prefix reach the factory with the prefix stripped
 * query.low-memory-killer.total-reservation-on-blocked-nodes.some-key=value
 * }</pre>
 *
 * @since 0.1
 */
public interface LowMemoryKillerFactory
{
    /** Stable kebab-case name used in configuration, e.g. {@code total-reservation}. Unique within its scope. */
    String name();

    /** Whether this is a query killer or a task killer. */
    default KillerScope scope()
    {
        return KillerScope.QUERY;
    }

    /**
     * Creates the killer. Called once at engine start-up, on the start-up thread, with the thread context class
     * loader set to the plugin's.
     *
     * @param config the keys under {@code <scope>.low-memory-killer.<name>.}, prefix stripped; never null
     * @param context the engine's services; never null
     * @throws IllegalArgumentException for a bad or unknown config key, naming the key, the value and what is accepted
     */
    LowMemoryKiller create(Map<String, String> config, LowMemoryKillerContext context);
}
