package io.memgov.engine.internal.plugin;

import io.memgov.engine.ConfigurationException;
import io.memgov.spi.MemoryPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static java.util.Objects.requireNonNull;

/**
 * Finds plugins on the class path and in the plugin directory and registers them. In the directory, every jar is
 * one plugin and every sub-folder (all the jars in it) is one plugin, each in its own {@link PluginClassLoader}.
 */
public final class PluginLoader
{
    private static final Logger log = LoggerFactory.getLogger(PluginLoader.class);
    private static final String SERVICES_FILE = "META-INF/services/" + MemoryPlugin.class.getName();

    private final PluginRegistry registry;

    public PluginLoader(PluginRegistry registry)
    {
        this.registry = requireNonNull(registry, "registry is null");
    }

    /** Registers every plugin that {@link ServiceLoader} finds through {@code classLoader}. */
    public void loadFromClassPath(ClassLoader classLoader)
    {
        load(classLoader, null);
    }

    /**
     * Registers every plugin in {@code directory}. A missing directory means no plugins unless it was configured
     * explicitly, in which case it is an error, as is an unreadable one.
     */
    public void loadFromDirectory(Path directory, boolean explicit)
    {
        if (!Files.exists(directory)) {
            if (explicit) {
                throw new ConfigurationException(String.format("Plugin directory '%s' ('plugin.dir') does not exist", directory.toAbsolutePath()));
            }
            log.debug("No plugin directory at {}", directory.toAbsolutePath());
            return;
        }
        if (!Files.isDirectory(directory) || !Files.isReadable(directory)) {
            throw new ConfigurationException(String.format("Plugin directory '%s' ('plugin.dir') is not a readable directory", directory.toAbsolutePath()));
        }
        List<Path> entries;
        try (Stream<Path> list = Files.list(directory)) {
            entries = list.sorted().toList();
        }
        catch (IOException e) {
            throw new ConfigurationException(String.format("Plugin directory '%s' ('plugin.dir') cannot be listed: %s", directory.toAbsolutePath(), e), e);
        }
        for (Path entry : entries) {
            if (Files.isDirectory(entry)) {
                loadPlugin(entry, jarsIn(entry));
            }
            else if (entry.getFileName().toString().endsWith(".jar")) {
                loadPlugin(entry, List.of(entry));
            }
        }
    }

    private static List<Path> jarsIn(Path folder)
    {
        try (Stream<Path> list = Files.list(folder)) {
            return list.filter(path -> path.getFileName().toString().endsWith(".jar")).sorted().toList();
        }
        catch (IOException e) {
            throw new ConfigurationException(String.format("Plugin folder '%s' cannot be listed: %s", folder.toAbsolutePath(), e), e);
        }
    }

    private void loadPlugin(Path location, List<Path> jars)
    {
        if (jars.isEmpty()) {
            warn(String.format("Plugin folder %s holds no jar; skipped", location));
            return;
        }
        List<URL> urls = new ArrayList<>();
        for (Path jar : jars) {
            // a truncated download or a stray file named .jar would otherwise read as "no services file"
            String unreadable = unreadableJar(jar);
            if (unreadable != null) {
                recordFailure(location.equals(jar) ? location.toString() : location + " (" + jar.getFileName() + ")",
                        "not a readable jar (" + unreadable + ")");
                return;
            }
            try {
                urls.add(jar.toUri().toURL());
            }
            catch (MalformedURLException e) {
                throw new ConfigurationException(String.format("Plugin jar '%s' has no valid URL: %s", jar, e), e);
            }
        }
        PluginClassLoader loader = new PluginClassLoader(location.getFileName().toString(), urls.toArray(URL[]::new), MemoryPlugin.class.getClassLoader());
        if (loader.findResource(SERVICES_FILE) == null) {
            warn(String.format("Plugin %s has no %s; it offers nothing and was skipped", location, SERVICES_FILE));
            closeQuietly(loader);
            return;
        }
        if (load(loader, location.toString()) == 0) {
            // nothing of it was registered, so nothing will ever load a class from it again
            closeQuietly(loader);
        }
    }

    /** Registers the plugins {@code classLoader} offers; returns how many were registered. */
    private int load(ClassLoader classLoader, String location)
    {
        int registered = 0;
        ServiceLoader<MemoryPlugin> serviceLoader = ServiceLoader.load(MemoryPlugin.class, classLoader);
        Iterator<ServiceLoader.Provider<MemoryPlugin>> providers = serviceLoader.stream().iterator();
        while (true) {
            ServiceLoader.Provider<MemoryPlugin> provider;
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(classLoader)) {
                if (!providers.hasNext()) {
                    break;
                }
                provider = providers.next();
            }
            catch (ServiceConfigurationError e) {
                recordFailure(location == null ? "on the class path" : location, rootCause(e));
                continue;
            }
            String description = location == null ? "class path (" + codeSource(provider.type()) + ")" : location;
            String what = provider.type().getName() + " from " + description;
            MemoryPlugin plugin;
            List<PluginRegistry.Offer> offers;
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(classLoader)) {
                plugin = provider.get();
                offers = registry.offers(plugin, new PluginSource(description, classLoader));
            }
            catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
                // one broken provider must not take the others down; if its policy is selected, the error says why
                recordFailure(what, rootCause(e));
                continue;
            }
            registry.add(offers);
            registered++;
        }
        return registered;
    }

    private void recordFailure(String what, String why)
    {
        log.warn(registry.recordLoadFailure(what, why));
    }

    private void warn(String warning)
    {
        log.warn(warning);
        registry.recordWarning(warning);
    }

    private static String rootCause(Throwable failure)
    {
        // ServiceLoader wraps the constructor's exception; the plugin author needs the exception itself
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause.toString();
    }

    private static String unreadableJar(Path jar)
    {
        try (JarFile ignored = new JarFile(jar.toFile())) {
            return null;
        }
        catch (IOException | SecurityException e) {
            return e.toString();
        }
    }

    private static void closeQuietly(PluginClassLoader loader)
    {
        try {
            loader.close();
        }
        catch (IOException e) {
            log.debug("Could not close the class loader of plugin {}", loader.getName(), e);
        }
    }

    private static String codeSource(Class<?> type)
    {
        var codeSource = type.getProtectionDomain().getCodeSource();
        return codeSource == null || codeSource.getLocation() == null ? type.getName() : codeSource.getLocation().toString();
    }
}
