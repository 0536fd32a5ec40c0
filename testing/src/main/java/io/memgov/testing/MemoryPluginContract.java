package io.memgov.testing;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * The promises of {@link MemoryPlugin} and of every {@link PolicyFactory} it offers, in every {@link PolicyFamily}, as
 * tests. A plugin gets them with one small subclass:
 *
 * <pre>{@code
 * final class MyPluginContractTest
 *         extends MemoryPluginContract
 * {
 *     @Override
 *     protected MemoryPlugin plugin()
 *     {
 *         return new MyPlugin();
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: the plugin offers at least one factory and no name twice within a family (the engine would refuse
 * to start); it is found by {@link ServiceLoader} through {@code META-INF/services/io.memgov.spi.MemoryPlugin}; and, for
 * each factory (one dynamic test per factory): its name is stable kebab-case; it creates a policy from its
 * {@linkplain #requiredConfig required keys} alone; and a key it does not know fails creation with an
 * {@link IllegalArgumentException} naming the full key, prefix included, which a factory gets by calling
 * {@link PolicyConfig#requireOnly}.
 *
 * <p>Each factory is created with the {@linkplain #context context} of its family: a {@link TestingNodeContext} for the
 * node families (pool, tracker, spill strategy), a {@link TestingClusterContext} for the others.
 *
 * @since 1.0
 */
public abstract class MemoryPluginContract
{
    private static final String KEBAB_CASE = "[a-z0-9]+(-[a-z0-9]+)*";
    private static final String UNKNOWN_KEY = "no-such-key-in-any-policy";

    /** A new instance of the plugin, as {@link ServiceLoader} would create it. */
    protected abstract MemoryPlugin plugin();

    /**
     * The context the factories of {@code family} are created with. By default a new {@link TestingNodeContext} or
     * {@link TestingClusterContext}, whichever the family's factories accept; a subclass overrides it for a factory that
     * needs more (a per-query limit, a smaller pool).
     */
    protected PolicyContext context(PolicyFamily<?, ?, ?> family)
    {
        Class<?> accepted = contextType(family);
        PolicyContext cluster = new TestingClusterContext();
        return accepted.isInstance(cluster) ? cluster : TestingNodeContext.create();
    }

    /** The keys (prefix stripped) without which the named factory refuses to create anything; none by default. */
    protected Map<String, String> requiredConfig(PolicyFamily<?, ?, ?> family, String name)
    {
        return Map.of();
    }

    /** Whether the plugin is listed in {@code META-INF/services}; false for a plugin a host registers itself. */
    protected boolean isListedForTheServiceLoader()
    {
        return true;
    }

    @Test
    public void offersAtLeastOneFactory()
    {
        assertThat(factories()).isNotEmpty();
    }

    @Test
    public void offersNoNameTwiceWithinAFamily()
    {
        // the engine registers factories by name within a family, and refuses to start when one is offered twice
        MemoryPlugin plugin = plugin();
        for (PolicyFamily<?, ?, ?> family : PolicyFamily.values()) {
            Set<String> names = new HashSet<>();
            for (PolicyFactory<?, ?> factory : family.factoriesOf(plugin)) {
                assertThat(names.add(factory.name())).as("%s is offered twice in %s", factory.name(), family).isTrue();
            }
        }
    }

    @Test
    public void isFoundByTheServiceLoader()
    {
        assumeThat(isListedForTheServiceLoader()).as("the plugin is not listed in META-INF/services").isTrue();
        String name = plugin().getClass().getName();

        assertThat(ServiceLoader.load(MemoryPlugin.class).stream().map(provider -> provider.type().getName()))
                .as("plugins listed in META-INF/services/%s", MemoryPlugin.class.getName())
                .contains(name);
    }

    @TestFactory
    public Stream<DynamicTest> everyFactoryNameIsStableKebabCase()
    {
        return factories().stream().map(offered -> dynamicTest(offered.toString(), () -> {
            assertThat(offered.factory().name()).matches(KEBAB_CASE);
            assertThat(offered.factory().name()).isEqualTo(offered.name());
        }));
    }

    @TestFactory
    public Stream<DynamicTest> everyFactoryCreatesAPolicyFromItsRequiredKeysAlone()
    {
        return factories().stream().map(offered -> dynamicTest(offered.toString(), () -> {
            PolicyConfig config = PolicyConfig.of(offered.family().configPrefix(offered.name()), requiredConfig(offered.family(), offered.name()));

            assertThat(create(offered, config)).isNotNull();
        }));
    }

    @TestFactory
    public Stream<DynamicTest> everyFactoryRefusesAnUnknownKeyNamingTheFullKey()
    {
        // a typo in a property file must fail start-up, not be ignored
        return factories().stream().map(offered -> dynamicTest(offered.toString(), () -> {
            Map<String, String> values = new HashMap<>(requiredConfig(offered.family(), offered.name()));
            values.put(UNKNOWN_KEY, "1");
            PolicyConfig config = PolicyConfig.of(offered.family().configPrefix(offered.name()), values);

            Throwable thrown = catchThrowable(() -> create(offered, config));

            assertThat(thrown).isInstanceOf(IllegalArgumentException.class);
            assertThat(thrown).hasMessageContaining(config.fullKey(UNKNOWN_KEY));
            if (thrown instanceof PolicyConfigException configException) {
                assertThat(configException.key()).isEqualTo(config.fullKey(UNKNOWN_KEY));
            }
        }));
    }

    /** Every factory the plugin offers, with its family, in the order of {@link PolicyFamily#values()}. */
    private List<Offered> factories()
    {
        MemoryPlugin plugin = plugin();
        List<Offered> offered = new ArrayList<>();
        for (PolicyFamily<?, ?, ?> family : PolicyFamily.values()) {
            for (PolicyFactory<?, ?> factory : family.factoriesOf(plugin)) {
                offered.add(new Offered(family, factory, factory.name()));
            }
        }
        return offered;
    }

    private Object create(Offered offered, PolicyConfig config)
    {
        PolicyContext context = context(offered.family());
        Class<?> accepted = contextType(offered.family());
        assertThat(context).as("the context for %s, which its factories take as a %s", offered.family(), accepted.getSimpleName()).isInstanceOf(accepted);
        return createUnchecked(offered.factory(), config, context);
    }

    @SuppressWarnings("unchecked")
    private static Object createUnchecked(PolicyFactory<?, ?> factory, PolicyConfig config, PolicyContext context)
    {
        // the context was checked against the type the family's create method declares
        return ((PolicyFactory<PolicyContext, ?>) factory).create(config, context);
    }

    /** The context type the family's factories declare in {@code create}: the most specific among its overloads and bridges. */
    private static Class<?> contextType(PolicyFamily<?, ?, ?> family)
    {
        return Arrays.stream(family.factoryType().getMethods())
                .filter(method -> method.getName().equals("create") && method.getParameterCount() == 2 && method.getParameterTypes()[0] == PolicyConfig.class)
                .map(Method::getParameterTypes)
                .map(types -> types[1])
                .reduce((first, second) -> first.isAssignableFrom(second) ? second : first)
                .orElse(PolicyContext.class);
    }

    private record Offered(PolicyFamily<?, ?, ?> family, PolicyFactory<?, ?> factory, String name)
    {
        @Override
        public String toString()
        {
            return family.displayName() + " '" + name + "'";
        }
    }
}
