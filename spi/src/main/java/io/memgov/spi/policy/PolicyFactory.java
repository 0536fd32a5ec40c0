package io.memgov.spi.policy;

/**
 * Creates one kind of policy under a name. Every family's factory ({@code LowMemoryKillerFactory},
 * {@code MemoryPoolFactory}, ...) is one of these; a plugin returns its factories from
 * {@link io.memgov.spi.MemoryPlugin}, the engine registers each under its {@link #name()} within its family, and
 * creates only the ones configuration selects.
 *
 * @param <C> what the engine offers the policy
 * @param <P> the policy the factory creates
 * @since 1.0
 */
public interface PolicyFactory<C extends PolicyContext, P>
{
    /**
     * The stable kebab-case name configuration selects, e.g. {@code total-reservation}; unique within the family.
     * Called at start-up; must not change.
     */
    String name();

    /**
     * Creates the policy. Called at engine start-up on the start-up thread, with the thread context class loader set
     * to the plugin's: once per node for the node families (pool, tracker, spill strategy, arbitrator), once per
     * engine for the others.
     *
     * @param config the keys under the policy's prefix ({@code <family prefix>.<name>.}), prefix stripped; never null.
     *        A factory should call {@link PolicyConfig#requireOnly} so that a typo fails start-up.
     * @param context the engine's services; never null
     * @return the policy; never null
     * @throws IllegalArgumentException for a bad or unknown configuration key ({@link PolicyConfig} throws
     *         {@link PolicyConfigException}s with the key, the value and what is accepted); start-up fails with it
     */
    P create(PolicyConfig config, C context);
}
