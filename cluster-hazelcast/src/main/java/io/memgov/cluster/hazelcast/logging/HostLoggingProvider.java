package io.memgov.cluster.hazelcast.logging;

import io.memgov.spi.MemoryPlugin;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.NOPLoggerFactory;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The SLF4J binding of the plugin's class loader: it hands every log record of the plugin (its own and Hazelcast's,
 * which logs through SLF4J) to the SLF4J of the host that loaded the plugin, so that they end up where the engine's
 * own records do, formatted and filtered by the host's binding and configuration.
 *
 * <p>A plugin folder has its own copy of {@code slf4j-api}: the engine's plugin class loader shows a plugin the JDK,
 * its own jars and the SPI, nothing else. That copy finds this provider. The host's SLF4J is the one in the class
 * loader of the SPI's classes, where the engine lives; it is called through method handles, because its
 * {@code Logger} is another class than the plugin's.
 *
 * <p>When the plugin is on the host's own class path instead (tests, a host that does not use a plugin folder), the
 * host's SLF4J is this one, and the provider hands everything to the other binding on the class path. SLF4J then
 * finds two bindings and warns; naming the host's with the system property {@code slf4j.provider} avoids it.
 *
 * <p>Created by {@link ServiceLoader} through {@code META-INF/services/org.slf4j.spi.SLF4JServiceProvider}.
 */
public final class HostLoggingProvider
        implements SLF4JServiceProvider
{
    private volatile ILoggerFactory loggerFactory = new NOPLoggerFactory();
    private volatile IMarkerFactory markerFactory = new BasicMarkerFactory();
    private volatile MDCAdapter mdcAdapter = new NOPMDCAdapter();

    @Override
    public ILoggerFactory getLoggerFactory()
    {
        return loggerFactory;
    }

    @Override
    public IMarkerFactory getMarkerFactory()
    {
        return markerFactory;
    }

    @Override
    public MDCAdapter getMDCAdapter()
    {
        return mdcAdapter;
    }

    @Override
    public String getRequestedApiVersion()
    {
        return "2.0.99";
    }

    @Override
    public void initialize()
    {
        ClassLoader hostLoader = MemoryPlugin.class.getClassLoader();
        Class<?> hostLoggerFactory;
        try {
            hostLoggerFactory = Class.forName("org.slf4j.LoggerFactory", false, hostLoader);
        }
        catch (ClassNotFoundException | LinkageError e) {
            // SLF4J's own behaviour without a binding: say so once, then stay silent
            System.err.println("memgov: the host that loaded the plugin " + describe(hostLoader) + " has no SLF4J; the plugin's log records are dropped");
            return;
        }
        if (hostLoggerFactory == LoggerFactory.class) {
            useOtherBinding();
            return;
        }
        loggerFactory = HostLogger.factory(hostLoggerFactory);
    }

    private void useOtherBinding()
    {
        ServiceLoader<SLF4JServiceProvider> providers = ServiceLoader.load(SLF4JServiceProvider.class, LoggerFactory.class.getClassLoader());
        try {
            for (SLF4JServiceProvider provider : providers) {
                if (!(provider instanceof HostLoggingProvider)) {
                    provider.initialize();
                    markerFactory = provider.getMarkerFactory();
                    mdcAdapter = provider.getMDCAdapter();
                    loggerFactory = provider.getLoggerFactory();
                    return;
                }
            }
        }
        catch (ServiceConfigurationError e) {
            System.err.println("memgov: the other SLF4J binding on the class path failed to load (" + e + "); the plugin's log records are dropped");
        }
    }

    private static String describe(ClassLoader loader)
    {
        return loader == null ? "(the boot class loader)" : loader.toString();
    }
}
