package io.memgov.engine.plugin;

import io.memgov.engine.config.ConfigurationException;
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
import java.util.stream.Stream;

import static java.util.Objects.requireNonNull;

/**
 * Finds plugins on the class path and in the plugin directory and registers them. In the directory, every jar is
 * one plugin and every sub-folder (all the jars in it) is one plugin, each in its own {@link PluginClassLoader}.
 */
public final class PluginLoader
{
    private static final Logger log = LoggerFactory.getLogger(PluginLoader.class);

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
            log.warn("Plugin folder {} holds no jar; skipped", location);
            return;
        }
        List<URL> urls = new ArrayList<>();
        for (Path jar : jars) {
            try {
                urls.add(jar.toUri().toURL());
            }
            catch (MalformedURLException e) {
                throw new ConfigurationException(String.format("Plugin jar '%s' has no valid URL: %s", jar, e), e);
            }
        }
        PluginClassLoader loader = new PluginClassLoader(location.getFileName().toString(), urls.toArray(URL[]::new), MemoryPlugin.class.getClassLoader());
        if (loader.findResource("META-INF/services/" + MemoryPlugin.class.getName()) == null) {
            log.warn("Plugin {} has no META-INF/services/{}; it offers nothing and was skipped", location, MemoryPlugin.class.getName());
            return;
        }
        load(loader, location.toString());
    }

    private void load(ClassLoader classLoader, String location)
    {
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
                recordFailure(location == null ? "class path" : location, e);
                continue;
            }
            String description = location == null ? "class path (" + codeSource(provider.type()) + ")" : location;
            MemoryPlugin plugin;
            try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(classLoader)) {
                plugin = provider.get();
            }
            catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
                recordFailure(provider.type().getName() + " from " + description, e);
                continue;
            }
            registry.register(plugin, new PluginSource(description, classLoader));
        }
    }

    private void recordFailure(String what, Throwable failure)
    {
        Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
        String description = what + ": " + cause;
        log.warn("Plugin {} could not be loaded; its policies are unavailable", description);
        registry.recordLoadFailure(description);
    }

    private static String codeSource(Class<?> type)
    {
        var codeSource = type.getProtectionDomain().getCodeSource();
        return codeSource == null || codeSource.getLocation() == null ? type.getName() : codeSource.getLocation().toString();
    }
}
