package io.memgov.engine;

import io.memgov.spi.PolicyFamily;

import static java.util.Objects.requireNonNull;

/**
 * A policy a plugin offers, as the engine registered it.
 *
 * @param family the policy's family
 * @param name the name configuration selects it by
 * @param pluginName the plugin class's simple name, e.g. {@code TotalReservationPlugin}
 * @param source where the plugin came from: {@code class path (...)}, a jar or folder in {@code plugin.dir},
 *        {@code engine (built in)} or {@code registered programmatically}
 * @param factory the factory the plugin offered
 * @param classLoader the loader of the plugin's classes
 */
public record PolicyRegistration(PolicyFamily<?, ?, ?> family, String name, String pluginName, String source, Object factory, ClassLoader classLoader)
{
    public PolicyRegistration
    {
        requireNonNull(family, "family is null");
        requireNonNull(name, "name is null");
        requireNonNull(pluginName, "pluginName is null");
        requireNonNull(source, "source is null");
        requireNonNull(factory, "factory is null");
        requireNonNull(classLoader, "classLoader is null");
    }

    /** {@code TotalReservationPlugin from <source>}. */
    public String origin()
    {
        return pluginName + " from " + source;
    }
}
