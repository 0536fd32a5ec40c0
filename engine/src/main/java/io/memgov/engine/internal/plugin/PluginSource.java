package io.memgov.engine.internal.plugin;

import static java.util.Objects.requireNonNull;

/**
 * Where a plugin came from, for log lines and error messages: the class path, a jar or folder in {@code plugin.dir},
 * the engine itself, or programmatic registration.
 *
 * @param description e.g. {@code class path (jar:file:/.../memgov-plugin-none.jar)} or {@code plugins/my-killer.jar}
 * @param classLoader the loader whose classes implement the plugin; set as context loader around calls into it
 */
public record PluginSource(String description, ClassLoader classLoader)
{
    public PluginSource
    {
        requireNonNull(description, "description is null");
        requireNonNull(classLoader, "classLoader is null");
    }

    @Override
    public String toString()
    {
        return description;
    }
}
