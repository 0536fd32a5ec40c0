package io.memgov.spi.assignment;

import io.memgov.spi.annotation.Experimental;

import java.util.Map;

/**
 * Implemented by a {@link io.memgov.spi.pool.MemoryPoolFactory} whose layout has several pools per node, next to
 * {@code MemoryPoolFactory}: when the selected pool policy's factory is also a {@code MemoryPoolAssignerFactory}, the
 * engine asks it for the cluster loop's {@link MemoryPoolAssigner}. It is a separate interface, not a method of the
 * pool factory, so that the pool package stays free of the killer types the assigner reads.
 *
 * @since 0.2
 */
@Experimental
public interface MemoryPoolAssignerFactory
{
    /**
     * Creates the assigner. Called once per engine at start-up, after the nodes' layouts were created, on the
     * start-up thread, with the thread context class loader set to the plugin's.
     *
     * @param config the same keys the pool factory received ({@code memory.pool.<name>.*}, prefix stripped); never null
     * @param context the engine's cluster-level services; never null
     * @throws IllegalArgumentException for a bad config value, naming the key, the value and what is accepted
     */
    MemoryPoolAssigner createAssigner(Map<String, String> config, MemoryPoolAssignerContext context);
}
