package io.memgov.engine.internal.plugin;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.SelectedPolicy;
import io.memgov.engine.MemoryEngineConfig;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Decides which registered factory each family uses, from the configuration, and creates its policies. One rule for
 * every family:
 * <ol>
 * <li>a policy set with the family's key must be registered;</li>
 * <li>otherwise, for a family whose default follows another (the pool assigner follows the pool), the policy named
 *     like that family's selection, if registered;</li>
 * <li>otherwise the family's default, if registered;</li>
 * <li>otherwise the family's built-in fallback ({@code none}), logged, unless keys configure the missing default.</li>
 * </ol>
 * Every key under the family's prefix must configure the selected policy. Not thread-safe: used at start-up.
 */
public final class PolicySelector
{
    private static final Logger log = LoggerFactory.getLogger(PolicySelector.class);
    private static final String FALLBACK = "none";

    private final PluginRegistry registry;
    private final MemoryEngineConfig config;
    // the resolved name per family (the fallback's is "none" with no registration), so a per-node family resolves once
    private final Map<PolicyFamily<?, ?, ?>, Selection> selections = new HashMap<>();

    public PolicySelector(PluginRegistry registry, MemoryEngineConfig config)
    {
        this.registry = requireNonNull(registry, "registry is null");
        this.config = requireNonNull(config, "config is null");
    }

    /** The name of the family's selected policy ({@code none} when it falls back). */
    public String selectedName(PolicyFamily<?, ?, ?> family)
    {
        return select(family).name();
    }

    /**
     * Creates one policy of the family with the selected factory, or returns the family's fallback.
     *
     * @throws ConfigurationException if the family has no policy, the selected one is not registered, a key does
     *         not configure it, or its factory fails
     */
    public <F extends PolicyFactory<C, P>, C extends PolicyContext, P> SelectedPolicy<P> create(PolicyFamily<F, C, P> family, C context)
    {
        Selection selection = select(family);
        if (!selection.registered()) {
            P fallback = family.fallback().orElseThrow();
            return new SelectedPolicy<>(FALLBACK, "built-in fallback", fallback);
        }
        RegisteredFactory<F> registration = registry.require(family, selection.name());
        PolicyConfig policyConfig = config.policyConfig(family, selection.name());
        return PluginRegistry.create(family, registration, policyConfig, context);
    }

    private Selection select(PolicyFamily<?, ?, ?> family)
    {
        Selection selection = selections.get(family);
        if (selection == null) {
            selection = resolve(family);
            checkKeys(family, selection);
            selections.put(family, selection);
        }
        return selection;
    }

    private Selection resolve(PolicyFamily<?, ?, ?> family)
    {
        Optional<String> explicit = config.explicitPolicy(family);
        if (explicit.isPresent()) {
            RegisteredFactory<?> found = registry.find(family, explicit.get())
                    .orElseThrow(() -> new ConfigurationException(registry.notRegisteredMessage(family, explicit.get())));
            log.info("Selected {} '{}' from {}", family.displayName(), found.name(), found.origin());
            return new Selection(found.name(), true);
        }
        Optional<PolicyFamily<?, ?, ?>> followed = family.defaultFollows();
        if (followed.isPresent()) {
            String leader = selectedName(followed.get());
            Optional<? extends RegisteredFactory<?>> found = registry.find(family, leader);
            if (found.isPresent()) {
                log.info("Selected {} '{}' from {}, as {} '{}' is selected", family.displayName(), leader, found.get().origin(), followed.get().displayName(), leader);
                return new Selection(leader, true);
            }
        }
        String name = family.defaultPolicy();
        Optional<? extends RegisteredFactory<?>> found = registry.find(family, name);
        if (found.isPresent()) {
            log.info("Selected {} '{}' from {}", family.displayName(), name, found.get().origin());
            return new Selection(name, true);
        }
        if (!config.familyKeys(family).isEmpty()) {
            throw new ConfigurationException(String.format(
                    "Configuration keys %s configure the default %s '%s', which is not registered. Available: %s",
                    config.familyKeys(family).keySet().stream().map(key -> family.prefix() + "." + key).toList(), family.displayName(), name, registry.describe(family)));
        }
        if (family.fallback().isEmpty()) {
            throw new ConfigurationException(registry.notRegisteredMessage(family, name));
        }
        log.info("Default {} '{}' is not registered ('{}' not set); using '{}'. Available: {}",
                family.displayName(), name, family.policyKey(), FALLBACK, registry.describe(family));
        return new Selection(FALLBACK, false);
    }

    private void checkKeys(PolicyFamily<?, ?, ?> family, Selection selection)
    {
        String selectedPrefix = family.configPrefix(selection.name());
        for (String key : config.familyKeys(family).keySet()) {
            String fullKey = family.prefix() + "." + key;
            if (!fullKey.startsWith(selectedPrefix)) {
                throw new ConfigurationException(String.format(
                        "Configuration key '%s' does not configure the selected %s '%s' ('%s' = '%s'): keys for it start with '%s'",
                        fullKey, family.displayName(), selection.name(), family.policyKey(), selection.name(), selectedPrefix));
            }
        }
    }

    private record Selection(String name, boolean registered) {}
}
