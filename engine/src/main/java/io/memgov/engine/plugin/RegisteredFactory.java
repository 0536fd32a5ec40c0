package io.memgov.engine.plugin;

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
}
