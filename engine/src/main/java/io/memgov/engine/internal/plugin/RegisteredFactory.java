package io.memgov.engine.internal.plugin;

import static java.util.Objects.requireNonNull;

/**
 * A factory with the plugin that offered it.
 */
public record RegisteredFactory<F>(String name, F factory, String pluginName, PluginSource source)
{
    public RegisteredFactory
    {
        requireNonNull(name, "name is null");
        requireNonNull(factory, "factory is null");
        requireNonNull(pluginName, "pluginName is null");
        requireNonNull(source, "source is null");
    }

    /** {@code TotalReservationPlugin from <source>}. */
    public String origin()
    {
        return pluginName + " from " + source;
    }

    /** This registration typed as the family's factory type, which the registry checked when it registered it. */
    <G> RegisteredFactory<G> as(Class<G> factoryType)
    {
        return new RegisteredFactory<>(name, factoryType.cast(factory), pluginName, source);
    }
}
