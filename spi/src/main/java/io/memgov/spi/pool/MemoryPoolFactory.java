package io.memgov.spi.pool;

import java.util.Map;

/**
 * Creates the pools of a pool policy, selected by {@code memory.pool.policy}.
 *
 * @since 0.1
 */
public interface MemoryPoolFactory
{
    /** Stable kebab-case name used in configuration, e.g. {@code fixed} or {@code reserve-mode}. */
    String name();

    /**
     * Creates the pool of one node. Called once per node at engine start-up, on the start-up thread, with the
     * thread context class loader set to the plugin's.
     *
     * @param config the keys under {@code memory.pool.<name>.}, prefix stripped; never null, unmodifiable
     * @param context the node and the engine's services; never null
     * @throws IllegalArgumentException for a bad or unknown config key, naming the key, the value and what is accepted
     */
    MemoryPool create(Map<String, String> config, MemoryPoolContext context);

    /**
     * Creates the pools of one node: the engine calls this, not {@link #create}, once per node at start-up, on the
     * start-up thread, with the thread context class loader set to the plugin's. The default is a layout of the one
     * pool {@link #create} returns, so single-pool policies need not override it. A policy with several pools per
     * node overrides it, and usually also implements {@code io.memgov.spi.assignment.MemoryPoolAssignerFactory} so
     * that the cluster loop can move queries between them.
     *
     * @param config as for {@link #create}
     * @param context as for {@link #create}
     * @return the node's pools, the general one first; never null
     * @throws IllegalArgumentException for a bad or unknown config key, naming the key, the value and what is accepted
     * @since 0.2
     */
    default MemoryPoolLayout createLayout(Map<String, String> config, MemoryPoolContext context)
    {
        return MemoryPoolLayout.of(create(config, context));
    }
}
