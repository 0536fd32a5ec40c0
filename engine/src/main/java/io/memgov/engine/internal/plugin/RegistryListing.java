package io.memgov.engine.internal.plugin;

import io.memgov.engine.PluginListing;
import io.memgov.engine.PolicyRegistration;
import io.memgov.spi.PolicyFamily;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/** The registry as hosts see it: registrations as plain records, no factory types. */
public final class RegistryListing
        implements PluginListing
{
    private final PluginRegistry registry;

    public RegistryListing(PluginRegistry registry)
    {
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public List<PolicyFamily<?, ?, ?>> families()
    {
        return registry.families();
    }

    @Override
    public List<PolicyRegistration> registrations(PolicyFamily<?, ?, ?> family)
    {
        return registry.all().getOrDefault(requireNonNull(family, "family is null"), List.of()).stream()
                .map(registration -> registration(family, registration))
                .toList();
    }

    @Override
    public Optional<PolicyRegistration> find(PolicyFamily<?, ?, ?> family, String name)
    {
        requireNonNull(name, "name is null");
        return registrations(family).stream().filter(registration -> registration.name().equals(name)).findFirst();
    }

    @Override
    public Map<PolicyFamily<?, ?, ?>, List<PolicyRegistration>> all()
    {
        Map<PolicyFamily<?, ?, ?>, List<PolicyRegistration>> result = new LinkedHashMap<>();
        for (PolicyFamily<?, ?, ?> family : registry.families()) {
            result.put(family, registrations(family));
        }
        return result;
    }

    @Override
    public List<String> describe(PolicyFamily<?, ?, ?> family)
    {
        return registry.describe(family);
    }

    @Override
    public List<String> warnings()
    {
        return registry.warnings();
    }

    @Override
    public List<String> loadFailures()
    {
        return registry.loadFailures();
    }

    private static PolicyRegistration registration(PolicyFamily<?, ?, ?> family, RegisteredFactory<?> registration)
    {
        return new PolicyRegistration(family, registration.name(), registration.pluginName(), registration.source().description(), registration.factory(),
                registration.source().classLoader());
    }
}
