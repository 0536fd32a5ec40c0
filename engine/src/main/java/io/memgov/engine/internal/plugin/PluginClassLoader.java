package io.memgov.engine.internal.plugin;

import java.net.URL;
import java.net.URLClassLoader;

import static java.util.Objects.requireNonNull;

/**
 * One plugin's class loader. Its parent is the platform loader, so the plugin sees the JDK and its own jars and
 * nothing of the engine's class path (it may bring other versions of the libraries the engine uses); classes and
 * resources of {@code io.memgov.spi} alone come from the engine, so that plugin and engine agree on the SPI types.
 */
final class PluginClassLoader
        extends URLClassLoader
{
    private static final String SPI_PACKAGE = "io.memgov.spi.";
    private static final String SPI_RESOURCE = "io/memgov/spi/";

    private final ClassLoader spiLoader;

    PluginClassLoader(String name, URL[] urls, ClassLoader spiLoader)
    {
        super(name, urls, ClassLoader.getPlatformClassLoader());
        this.spiLoader = requireNonNull(spiLoader, "spiLoader is null");
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve)
            throws ClassNotFoundException
    {
        synchronized (getClassLoadingLock(name)) {
            // an SPI class must be the engine's, or the plugin's factories would not be the engine's interfaces
            if (name.startsWith(SPI_PACKAGE)) {
                Class<?> spiClass = spiLoader.loadClass(name);
                if (resolve) {
                    resolveClass(spiClass);
                }
                return spiClass;
            }
            return super.loadClass(name, resolve);
        }
    }

    @Override
    public URL getResource(String name)
    {
        if (name.startsWith(SPI_RESOURCE)) {
            return spiLoader.getResource(name);
        }
        return super.getResource(name);
    }
}
