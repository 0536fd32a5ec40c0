package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;

/**
 * A provider whose constructor throws, copied into a jar by {@link PluginLoaderTest}: its plugin must be reported,
 * naming the jar, without stopping the plugins beside it. Uses nothing but the JDK and the SPI.
 */
public final class ThrowingJarPlugin
        implements MemoryPlugin
{
    public ThrowingJarPlugin()
    {
        throw new IllegalStateException("cannot reach the licence server");
    }
}
