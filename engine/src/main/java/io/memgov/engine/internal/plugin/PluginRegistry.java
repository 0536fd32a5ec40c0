package io.memgov.engine.internal.plugin;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.SelectedPolicy;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Every factory offered by the loaded plugins, by family and name. Registration rejects a name offered twice in a
 * family, naming both plugins; look-up of a name nobody offers lists what is registered and where it came from.
 * Typed by {@link PolicyFamily}: a family's factories are checked against its factory type when registered.
 * Not thread-safe: filled at start-up, read afterwards.
 */
public final class PluginRegistry
{
    private static final Logger log = LoggerFactory.getLogger(PluginRegistry.class);

    private final Map<PolicyFamily<?, ?, ?>, Map<String, RegisteredFactory<?>>> factories = new LinkedHashMap<>();
    private final List<String> loadFailures = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    /** A registry of memgov's own families. */
    public PluginRegistry()
    {
        this(PolicyFamily.values());
    }

    /** A registry of these families (memgov's own and a host's). */
    public PluginRegistry(List<PolicyFamily<?, ?, ?>> families)
    {
        for (PolicyFamily<?, ?, ?> family : families) {
            if (factories.putIfAbsent(family, new TreeMap<>()) != null) {
                throw new IllegalArgumentException("family " + family + " is listed twice");
            }
        }
    }

    /** The families this registry holds, in order. */
    public List<PolicyFamily<?, ?, ?>> families()
    {
        return List.copyOf(factories.keySet());
    }

    /**
     * Registers every factory of the plugin. Calls into the plugin with its class loader as context loader.
     *
     * @throws ConfigurationException if the plugin fails while listing its factories (nothing is registered), or
     *         offers a name that is already registered in the same family (the message names both plugins)
     */
    public void register(MemoryPlugin plugin, PluginSource source)
    {
        add(offers(plugin, source));
    }

    /**
     * Asks the plugin for its factories without registering any, so that a plugin failing half-way through its
     * list leaves nothing behind.
     */
    List<Offer> offers(MemoryPlugin plugin, PluginSource source)
    {
        requireNonNull(plugin, "plugin is null");
        requireNonNull(source, "source is null");
        // an anonymous or lambda plugin has no simple name; its class name still says where it comes from
        String simpleName = plugin.getClass().getSimpleName();
        String pluginName = simpleName.isEmpty() ? plugin.getClass().getName() : simpleName;
        List<Offer> offers = new ArrayList<>();
        try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(source.classLoader())) {
            for (PolicyFamily<?, ?, ?> family : factories.keySet()) {
                for (PolicyFactory<?, ?> factory : family.factoriesOf(plugin)) {
                    if (!family.factoryType().isInstance(factory)) {
                        throw new ConfigurationException(String.format("Plugin %s from %s offers %s as a %s factory, but it is not a %s",
                                pluginName, source, factory, family.displayName(), family.factoryType().getName()));
                    }
                    offers.add(new Offer(family, factory.name(), factory, pluginName, source));
                }
            }
        }
        catch (ConfigurationException e) {
            throw e;
        }
        catch (RuntimeException | LinkageError e) {
            throw new ConfigurationException(String.format("Plugin %s from %s failed while listing its factories: %s", pluginName, source, e), e);
        }
        return offers;
    }

    void add(List<Offer> offers)
    {
        for (Offer offer : offers) {
            RegisteredFactory<?> registration = new RegisteredFactory<>(offer.name(), offer.factory(), offer.pluginName(), offer.source());
            RegisteredFactory<?> existing = factories.get(offer.family()).putIfAbsent(offer.name(), registration);
            if (existing != null) {
                throw new ConfigurationException(String.format("%s '%s' is registered twice: %s and %s",
                        capitalize(offer.family().displayName()), offer.name(), existing.origin(), registration.origin()));
            }
            log.info("Registering {} '{}' from {}", offer.family().displayName(), offer.name(), registration.origin());
        }
    }

    /**
     * Remembers a plugin that could not be loaded, so that a later "not registered" error can mention it.
     *
     * @param what the provider class and where it came from, or the jar or folder
     * @param why what went wrong, e.g. the exception its constructor threw
     * @return the warning to log
     */
    public String recordLoadFailure(String what, String why)
    {
        requireNonNull(what, "what is null");
        requireNonNull(why, "why is null");
        loadFailures.add(what + ": " + why);
        String warning = "Plugin " + what + " could not be loaded; its policies are unavailable: " + why;
        warnings.add(warning);
        return warning;
    }

    /** Remembers a warning about a plugin that was skipped, for the {@code plugins} listing. */
    public void recordWarning(String warning)
    {
        warnings.add(requireNonNull(warning, "warning is null"));
    }

    /** Plugins that could not be loaded, each with where it came from and why. */
    public List<String> loadFailures()
    {
        return List.copyOf(loadFailures);
    }

    /** Every warning logged while loading plugins (skipped jars and folders, failed providers), in order. */
    public List<String> warnings()
    {
        return List.copyOf(warnings);
    }

    /** A factory a plugin offers, not yet registered. */
    record Offer(PolicyFamily<?, ?, ?> family, String name, PolicyFactory<?, ?> factory, String pluginName, PluginSource source)
    {
        Offer
        {
            requireNonNull(name, () -> "Plugin " + pluginName + " from " + source + " offers a " + family.displayName() + " factory whose name is null");
        }
    }

    /** The factory registered under {@code name}, if any. */
    public <F extends PolicyFactory<C, P>, C extends PolicyContext, P> Optional<RegisteredFactory<F>> find(PolicyFamily<F, C, P> family, String name)
    {
        requireNonNull(name, "name is null");
        return Optional.ofNullable(byName(family).get(name)).map(registration -> registration.as(family.factoryType()));
    }

    /** The factory registered under {@code name}; fails with the list of registered names and their origins. */
    public <F extends PolicyFactory<C, P>, C extends PolicyContext, P> RegisteredFactory<F> require(PolicyFamily<F, C, P> family, String name)
    {
        return find(family, name).orElseThrow(() -> new ConfigurationException(notRegisteredMessage(family, name)));
    }

    public String notRegisteredMessage(PolicyFamily<?, ?, ?> family, String name)
    {
        StringBuilder message = new StringBuilder(String.format("%s '%s' is not registered ('%s'). Available: %s",
                capitalize(family.displayName()), name, family.policyKey(), describe(family)));
        if (!loadFailures.isEmpty()) {
            message.append(". Plugins that failed to load: ").append(loadFailures);
        }
        return message.toString();
    }

    /** {@code [none (NonePlugin from class path), ...]}. */
    public List<String> describe(PolicyFamily<?, ?, ?> family)
    {
        return byName(family).values().stream()
                .map(registration -> registration.name() + " (" + registration.origin() + ")")
                .toList();
    }

    /** Every registration of every family, for {@code plugins} listings. */
    public Map<PolicyFamily<?, ?, ?>, List<RegisteredFactory<?>>> all()
    {
        Map<PolicyFamily<?, ?, ?>, List<RegisteredFactory<?>>> result = new LinkedHashMap<>();
        factories.forEach((family, byName) -> result.put(family, List.copyOf(byName.values())));
        return result;
    }

    private Map<String, RegisteredFactory<?>> byName(PolicyFamily<?, ?, ?> family)
    {
        Map<String, RegisteredFactory<?>> byName = factories.get(requireNonNull(family, "family is null"));
        if (byName == null) {
            throw new IllegalArgumentException("family " + family + " is not known to this registry: " + factories.keySet());
        }
        return byName;
    }

    /**
     * Calls {@code create} on the factory with the plugin's context loader; a factory that throws, or returns null,
     * fails start-up with a message naming the policy and the plugin.
     *
     * <p>A policy whose plugin has a class loader of its own (a drop-in plugin, or one found through a class-path
     * loader other than the engine's) is returned wrapped, so that every later call into it also runs with the
     * plugin's loader as context loader. Policies loaded by the engine's loader (built-ins and plugins on the engine's
     * class path) are returned as they are: the wrapping would cost a reflective call on every reservation for nothing.
     */
    public static <F extends PolicyFactory<C, P>, C extends PolicyContext, P> SelectedPolicy<P> create(
            PolicyFamily<F, C, P> family, RegisteredFactory<F> registration, PolicyConfig config, C context)
    {
        ClassLoader loader = registration.source().classLoader();
        try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
            P created = registration.factory().create(config, context);
            if (created == null) {
                throw new ConfigurationException(String.format("%s '%s' from %s returned null from create()",
                        capitalize(family.displayName()), registration.name(), registration.origin()));
            }
            if (!family.productType().isInstance(created)) {
                throw new ConfigurationException(String.format("%s '%s' from %s returned a %s from create(), not a %s",
                        capitalize(family.displayName()), registration.name(), registration.origin(), created.getClass().getName(), family.productType().getName()));
            }
            P policy = loader == PluginRegistry.class.getClassLoader() ? created : family.wrap(created, ContextLoaderProxy.wrapperFor(loader));
            return new SelectedPolicy<>(registration.name(), registration.origin(), policy);
        }
        catch (ConfigurationException e) {
            throw e;
        }
        catch (RuntimeException | LinkageError e) {
            throw new ConfigurationException(String.format("Failed to create %s '%s' from %s: %s",
                    family.displayName(), registration.name(), registration.origin(), e.getMessage() == null ? e.toString() : e.getMessage()), e);
        }
    }

    static String capitalize(String text)
    {
        return Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }
}
