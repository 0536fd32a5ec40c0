package io.memgov.lab;

import io.memgov.engine.MemoryEngine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Where the lab's engine configuration comes from: a file given with {@code --config}, or the embedded default
 * (the same as {@code etc/memory.properties}); then a workload's own properties, then a comparison's {@code --set}.
 */
final class LabConfig
{
    private LabConfig() {}

    static MemoryEngine.Builder engine(Path configFile)
    {
        return engine(configFile, Map.of());
    }

    /** @param overrides applied over the file, in order; later keys win */
    static MemoryEngine.Builder engine(Path configFile, Map<String, String> overrides)
    {
        return MemoryEngine.builder().properties(properties(configFile, overrides));
    }

    /** The engine properties: the file's (or the embedded default), then {@code overrides}, in order; later keys win. */
    static Map<String, String> properties(Path configFile, Map<String, String> overrides)
    {
        Map<String, String> properties = new LinkedHashMap<>();
        Properties loaded = configFile == null ? defaults() : read(configFile);
        loaded.stringPropertyNames().stream().sorted().forEach(name -> properties.put(name, loaded.getProperty(name)));
        properties.putAll(overrides);
        return properties;
    }

    /**
     * An engine in this JVM with the cluster's properties, to check them (and name the policies) before worker JVMs
     * start: its nodes do not govern this JVM's heap, which is not theirs, and it joins no cluster.
     */
    static MemoryEngine.Builder checkedForProcesses(Map<String, String> properties)
    {
        Map<String, String> checked = new LinkedHashMap<>(properties);
        checked.keySet().removeIf(key -> key.startsWith("cluster.transport."));
        checked.put("node.heap-governed", "false");
        return MemoryEngine.builder().properties(checked).withoutJmx();
    }

    private static Properties read(Path file)
    {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException("Configuration file '" + file + "' (--config) does not exist or is not a file. "
                    + "Expected a properties file such as etc/memory.properties");
        }
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        }
        catch (IOException | IllegalArgumentException e) {
            throw new BadInputException("Configuration file '" + file + "' (--config) cannot be read as a properties file: " + e.getMessage());
        }
        return properties;
    }

    private static Properties defaults()
    {
        Properties defaults = new Properties();
        try (InputStream in = LabConfig.class.getResourceAsStream("/memory.properties")) {
            defaults.load(in);
        }
        catch (IOException e) {
            throw new IllegalStateException("the lab's embedded default configuration cannot be read", e);
        }
        return defaults;
    }
}
