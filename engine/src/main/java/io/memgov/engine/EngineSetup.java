package io.memgov.engine;

import io.memgov.spi.MemoryPlugin;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * What the builder hands the wiring besides the configuration.
 *
 * @param plugins plugins registered programmatically
 * @param classPathLoader the loader searched with ServiceLoader, or empty to skip class-path discovery
 * @param clock the engine's clock
 * @param extraFamilies a host's own policy families
 * @param jmxName the {@code engine} key of the MBeans, or empty for no MBeans
 */
record EngineSetup(List<MemoryPlugin> plugins, Optional<ClassLoader> classPathLoader, Clock clock, List<ExtraFamily<?, ?>> extraFamilies, Optional<String> jmxName)
{
    EngineSetup
    {
        plugins = List.copyOf(requireNonNull(plugins, "plugins is null"));
        requireNonNull(classPathLoader, "classPathLoader is null");
        requireNonNull(clock, "clock is null");
        extraFamilies = List.copyOf(requireNonNull(extraFamilies, "extraFamilies is null"));
        requireNonNull(jmxName, "jmxName is null");
    }
}
