package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.spill.SpillConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Where the lab's configuration comes from, in layers, each over the one before: the lab's built-in defaults (the
 * same as {@code etc/memory.properties}), then each {@code --config} file in order, then a workload's own properties,
 * then each {@code --set KEY=VALUE}. A file sets only the keys it names: one that names only the killer keeps the
 * defaults' nodes and pools. {@link Resolved#sources()} says which layer set each key ({@code --explain}).
 *
 * <p>Two keys are the lab's, not the engine's, and never reach it: {@value #SPILL_COMPRESSION} ({@code NONE} or
 * {@code LZ4}) and {@value #SPILL_ENCRYPTION} ({@code true}/{@code false}), the spill files' storage (Trino's names,
 * read by {@link SpillConfig}).
 */
final class LabConfig
{
    static final String DEFAULT_SOURCE = "default";
    static final String SET_SOURCE = "--set";
    static final String SPILL_COMPRESSION = SpillConfig.COMPRESSION_CODEC;
    static final String SPILL_ENCRYPTION = SpillConfig.ENCRYPTION_ENABLED;
    private static final Set<String> LAB_KEYS = Set.of(SPILL_COMPRESSION, SPILL_ENCRYPTION);

    private LabConfig() {}

    /**
     * Every key in force and the layer that set it.
     *
     * @param properties engine and lab keys, sorted by key
     * @param sources for each key: {@code default}, a {@code --config} file as given, {@code workload <name>} or {@code --set}
     */
    record Resolved(Map<String, String> properties, Map<String, String> sources)
    {
        Resolved
        {
            properties = java.util.Collections.unmodifiableMap(new TreeMap<>(properties));
            sources = java.util.Collections.unmodifiableMap(new TreeMap<>(sources));
        }

        /** The same, with {@code overrides} on top, each marked as set by {@code source}. */
        Resolved with(Map<String, String> overrides, String source)
        {
            Map<String, String> properties = new LinkedHashMap<>(this.properties);
            Map<String, String> sources = new LinkedHashMap<>(this.sources);
            overrides.forEach((key, value) -> {
                properties.put(key, value);
                sources.put(key, source);
            });
            return new Resolved(properties, sources);
        }

        /** What the engine gets: every key but the lab's own. */
        Map<String, String> engineProperties()
        {
            Map<String, String> engine = new LinkedHashMap<>(properties);
            engine.keySet().removeAll(LAB_KEYS);
            return engine;
        }

        MemoryEngine.Builder engine()
        {
            return MemoryEngine.builder().properties(engineProperties());
        }

        /** The spill files' settings, spilling into {@code directory}; a bad value names the key and what is accepted. */
        SpillConfig spill(Path directory)
        {
            return spillConfig(properties, directory);
        }

        /** {@code key = value   (source)}, one line per key, for {@code --explain} and {@code plugins}. */
        String explain()
        {
            int width = properties.keySet().stream().mapToInt(String::length).max().orElse(0);
            int valueWidth = properties.values().stream().mapToInt(String::length).max().orElse(0);
            StringBuilder text = new StringBuilder();
            properties.forEach((key, value) -> text.append(String.format("  %-" + width + "s = %-" + valueWidth + "s  (%s)%n", key, value, sources.get(key))));
            return text.toString();
        }
    }

    /**
     * The layers resolved: defaults, {@code configFiles} in order, the workload's properties (named {@code workload}
     * in the sources; empty for none), then {@code sets} in order.
     */
    static Resolved resolve(List<Path> configFiles, String workload, Map<String, String> workloadProperties, Map<String, String> sets)
    {
        Resolved resolved = new Resolved(Map.of(), Map.of()).with(toMap(defaults()), DEFAULT_SOURCE);
        for (Path file : configFiles) {
            resolved = resolved.with(toMap(read(file)), file.toString());
        }
        resolved = resolved.with(workloadProperties, "workload " + workload);
        return resolved.with(sets, SET_SOURCE);
    }

    /** {@code --set KEY=VALUE}, each in order; later ones win. */
    static Map<String, String> parseSets(List<String> sets)
    {
        Map<String, String> parsed = new LinkedHashMap<>();
        for (String set : sets) {
            int equals = set.indexOf('=');
            String key = equals < 0 ? "" : set.substring(0, equals).trim();
            if (key.isEmpty()) {
                throw new BadInputException("invalid value '" + set + "' for '--set': expected KEY=VALUE, e.g. query.low-memory-killer.policy=none");
            }
            parsed.put(key, set.substring(equals + 1).trim());
        }
        return parsed;
    }

    /**
     * The engine properties over one configuration file (or none): the defaults, the file, then {@code overrides}
     * (a workload's), in order; lab keys included.
     */
    static Map<String, String> properties(Path configFile, Map<String, String> overrides)
    {
        return resolve(configFile == null ? List.of() : List.of(configFile), "", overrides, Map.of()).properties();
    }

    /** The spill files' settings for the lab's keys in {@code properties}; every other key is ignored. */
    static SpillConfig spillConfig(Map<String, String> properties, Path directory)
    {
        Map<String, String> spill = new LinkedHashMap<>();
        LAB_KEYS.stream().filter(properties::containsKey).forEach(key -> spill.put(key, properties.get(key)));
        spill.put(SpillConfig.SPILL_PATH, directory.toString());
        try {
            return SpillConfig.fromProperties(spill);
        }
        catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage());
        }
    }

    /** {@code properties} without the lab's own keys, which the engine would reject. */
    static Map<String, String> engineProperties(Map<String, String> properties)
    {
        Map<String, String> engine = new LinkedHashMap<>(properties);
        engine.keySet().removeAll(LAB_KEYS);
        return engine;
    }

    /**
     * An engine in this JVM with the cluster's properties, to check them (and name the policies) before worker JVMs
     * start: its nodes do not govern this JVM's heap, which is not theirs, and it joins no cluster.
     */
    static MemoryEngine.Builder checkedForProcesses(Map<String, String> properties)
    {
        Map<String, String> checked = engineProperties(properties);
        checked.keySet().removeIf(key -> key.startsWith("cluster.transport."));
        checked.put("node.heap-governed", "false");
        spillConfig(properties, Path.of(System.getProperty("java.io.tmpdir")));
        return MemoryEngine.builder().properties(checked).withoutJmx();
    }

    private static Map<String, String> toMap(Properties properties)
    {
        Map<String, String> map = new LinkedHashMap<>();
        properties.stringPropertyNames().stream().sorted().forEach(name -> map.put(name, properties.getProperty(name)));
        return map;
    }

    private static Properties read(Path file)
    {
        requireNonNull(file, "file is null");
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
