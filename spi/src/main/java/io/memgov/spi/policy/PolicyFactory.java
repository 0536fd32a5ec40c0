package io.memgov.spi.policy;

import io.memgov.spi.annotation.Experimental;

import java.util.List;

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

    /**
     * The keys the policy accepts under its prefix, with their defaults and meanings, in the order to document them;
     * used to generate documentation (the README's table of policy keys) and by tools that list policies. A factory
     * that declares its keys here should pass the same names to {@link PolicyConfig#requireOnly}, so that what it
     * documents and what it accepts cannot drift apart.
     *
     * <p>Called at any time, from any thread, possibly without the policy ever being created: it must be cheap, must
     * not depend on configuration, and must return the same keys every time.
     *
     * @return the keys; never null. Empty by default, which says the policy accepts no keys or does not document them
     * @since 1.1
     */
    @Experimental
    default List<PolicyConfigKey> configKeys()
    {
        return List.of();
    }
}
