package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.PolicyRegistration;
import io.memgov.spi.PolicyFamily;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "plugins", mixinStandardHelpOptions = true,
        description = "Lists every plugin the engine discovers on the class path and in the plugin directory, where each came from "
                + "(class path, or which jar or folder), its factories per family, and which policy the configuration selects in each family.")
final class PluginsCommand
        implements Callable<Integer>
{
    @Option(names = "--config", paramLabel = "FILE", description = "Engine properties file, over the lab's built-in defaults: it sets only the keys "
            + "it names. Repeatable: later files win.")
    List<Path> configs = new ArrayList<>();

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "One property over the files. Repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--plugin-dir", paramLabel = "DIR", description = "Drop-in plugin directory, replacing plugin.dir: each jar, and each sub-folder of jars, is one plugin.")
    Path pluginDir;

    @Option(names = "--json", description = "Prints JSON instead of text.")
    boolean json;

    /** One plugin: its entry point, where it came from, and its factory names per family. */
    record PluginListing(String plugin, String source, Map<String, List<String>> factories) {}

    /** One property in force and the layer that set it: {@code default}, a {@code --config} file or {@code --set}. */
    record Property(String value, String source) {}

    /** Everything {@code plugins} shows. */
    record Listing(List<PluginListing> plugins, Map<String, String> selected, List<String> loadFailures, Map<String, Property> configuration) {}

    @Override
    public Integer call()
            throws Exception
    {
        Map<String, String> overrides = new LinkedHashMap<>(LabConfig.parseSets(sets));
        if (pluginDir != null) {
            if (!Files.isDirectory(pluginDir)) {
                throw new BadInputException("invalid value '" + pluginDir + "' for '--plugin-dir': not a directory. "
                        + "Expected a directory holding plugin jars or sub-folders of jars");
            }
            overrides.put("plugin.dir", pluginDir.toString());
        }
        Listing listing;
        LabConfig.Resolved resolved = LabConfig.resolve(configs, "", Map.of(), overrides);
        try (MemoryEngine engine = resolved.engine().build()) {
            listing = listing(engine, resolved);
        }
        if (json) {
            System.out.println(Reports.json().writeValueAsString(listing));
            return 0;
        }
        for (PluginListing plugin : listing.plugins()) {
            System.out.printf("%s%n  from %s%n", plugin.plugin(), plugin.source());
            plugin.factories().forEach((family, names) -> System.out.printf("  %-24s %s%n", family + ":", String.join(", ", names)));
        }
        System.out.println();
        System.out.println("selected:");
        listing.selected().forEach((key, policy) -> System.out.printf("  %-34s %s%n", key, policy));
        listing.loadFailures().forEach(failure -> System.out.println("failed to load: " + failure));
        System.out.println();
        System.out.println("configuration (key = value, and what set it: default, a --config file or --set):");
        System.out.print(resolved.explain());
        return 0;
    }

    static Listing listing(MemoryEngine engine, LabConfig.Resolved resolved)
    {
        // registrations are kept per family; regroup them per plugin and source
        Map<String, PluginListing> plugins = new TreeMap<>();
        Map<String, String> selected = new LinkedHashMap<>();
        for (PolicyFamily<?, ?, ?> family : engine.plugins().families()) {
            selected.put(family.policyKey(), engine.policyName(family));
            for (PolicyRegistration registration : engine.plugins().registrations(family)) {
                String key = registration.pluginName() + " " + registration.source();
                plugins.computeIfAbsent(key, ignored -> new PluginListing(registration.pluginName(), registration.source(), new LinkedHashMap<>()))
                        .factories().computeIfAbsent(family.displayName(), ignored -> new ArrayList<>()).add(registration.name());
            }
        }
        Map<String, Property> configuration = new TreeMap<>();
        resolved.properties().forEach((key, value) -> configuration.put(key, new Property(value, resolved.sources().get(key))));
        return new Listing(List.copyOf(plugins.values()), selected, engine.plugins().loadFailures(), configuration);
    }
}
