package io.memgov.testing;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The promises of {@link PolicyFactory} as tests, for a factory of any family. A plugin gets them with one small
 * subclass per factory:
 *
 * <pre>{@code
 * final class MyKillerFactoryContractTest
 *         extends PolicyFactoryContract<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller>
 * {
 *     @Override
 *     protected PolicyFamily<LowMemoryKillerFactory, LowMemoryKillerContext, LowMemoryKiller> family()
 *     {
 *         return PolicyFamily.QUERY_KILLER;
 *     }
 *
 *     @Override
 *     protected LowMemoryKillerFactory factory()
 *     {
 *         return new MyKillerFactory();
 *     }
 *
 *     @Override
 *     protected LowMemoryKillerContext context()
 *     {
 *         return KillerFixtures.context();
 *     }
 *
 *     @Override
 *     protected Optional<MemoryPlugin> plugin()
 *     {
 *         return Optional.of(new MyPlugin());
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: the name is stable kebab-case; the factory creates a policy from its required keys alone (its
 * defaults); a key it does not know fails creation with an {@link IllegalArgumentException} naming the full key
 * (prefix included), which a factory gets by calling {@link PolicyConfig#requireOnly}; and, when the subclass names
 * the plugin, the plugin offers the factory in this family and is found by {@link ServiceLoader} through
 * {@code META-INF/services/io.memgov.spi.MemoryPlugin}.
 *
 * @param <F> the family's factory type
 * @param <C> the context the family hands its factories
 * @param <P> what the factory creates
 * @since 1.0
 */
public abstract class PolicyFactoryContract<F extends PolicyFactory<C, P>, C extends PolicyContext, P>
{
    private static final String KEBAB_CASE = "[a-z0-9]+(-[a-z0-9]+)*";
    private static final String UNKNOWN_KEY = "no-such-key-in-any-policy";

    /** The family the factory belongs to, e.g. {@link PolicyFamily#QUERY_KILLER}. */
    protected abstract PolicyFamily<F, C, P> family();

    /** A new factory. */
    protected abstract F factory();

    /** A context to create the policy with, e.g. a {@link TestingNodeContext} or a {@link TestingClusterContext}. */
    protected abstract C context();

    /** The keys (prefix stripped) without which the factory refuses to create anything; none by default. */
    protected Map<String, String> requiredConfig()
    {
        return Map.of();
    }

    /** The plugin that offers the factory, to check that it offers it and is found by {@link ServiceLoader}; none by default. */
    protected Optional<MemoryPlugin> plugin()
    {
        return Optional.empty();
    }

    @Test
    public void itsNameIsStableKebabCase()
    {
        F factory = factory();

        assertThat(factory.name()).matches(KEBAB_CASE);
        assertThat(factory.name()).isEqualTo(factory.name()).isEqualTo(factory().name());
    }

    @Test
    public void createsAPolicyFromItsRequiredKeysAlone()
    {
        F factory = factory();

        P policy = factory.create(config(factory, requiredConfig()), context());

        assertThat(policy).isNotNull();
    }

    @Test
    public void anUnknownKeyFailsNamingTheFullKey()
    {
        // a typo in a property file must fail start-up, not be ignored
        F factory = factory();
        Map<String, String> values = new HashMap<>(requiredConfig());
        values.put(UNKNOWN_KEY, "1");
        PolicyConfig config = config(factory, values);

        Throwable thrown = catchThrowable(() -> factory.create(config, context()));

        assertThat(thrown).isInstanceOf(IllegalArgumentException.class);
        assertThat(thrown).hasMessageContaining(config.fullKey(UNKNOWN_KEY));
        if (thrown instanceof PolicyConfigException configException) {
            assertThat(configException.key()).isEqualTo(config.fullKey(UNKNOWN_KEY));
        }
    }

    @Test
    public void itsPluginOffersItAndIsFoundByTheServiceLoader()
    {
        assumeThat(plugin()).as("the subclass names no plugin").isPresent();
        MemoryPlugin plugin = plugin().orElseThrow();
        String name = factory().name();

        List<F> offered = family().factoriesOf(plugin);

        assertThat(offered).as("%s offers, in %s", plugin.getClass().getSimpleName(), family()).anyMatch(factory -> factory.name().equals(name));
        assertThat(ServiceLoader.load(MemoryPlugin.class).stream().map(provider -> provider.type().getName()))
                .as("plugins listed in META-INF/services/%s", MemoryPlugin.class.getName())
                .contains(plugin.getClass().getName());
    }

    private PolicyConfig config(F factory, Map<String, String> values)
    {
        return PolicyConfig.of(family().configPrefix(factory.name()), values);
    }
}
