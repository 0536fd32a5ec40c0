package io.memgov.engine.internal.plugin;

import io.memgov.engine.ConfigurationException;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.SelectedPolicy;
import io.memgov.spi.widget.Widget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A family the engine has no code for ({@link Widget}, defined in this test tree as one SPI package and one constant)
 * is discovered in a drop-in plugin, selected by its key, configured under its prefix, wrapped for the plugin's class
 * loader and reported by its registered name, like memgov's own families.
 */
final class NewFamilyTest
{
    @TempDir
    Path temp;

    @Test
    void aNewFamilyIsDiscoveredSelectedWrappedAndNamedWithoutEngineCode()
            throws IOException
    {
        Path plugins = pluginDirWithWidget();
        try (MemoryEngine engine = MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .family(Widget.FAMILY)
                .properties(Map.of("plugin.dir", plugins.toString(), "memory.widget.policy", "jar-widget", "memory.widget.jar-widget.greeting", "hi"))
                .build()) {
            SelectedPolicy<Widget> widget = engine.policy(Widget.FAMILY);
            assertThat(widget.name()).isEqualTo("jar-widget");
            assertThat(widget.origin()).isEqualTo("JarWidgetPlugin from " + plugins.resolve("widget.jar"));
            assertThat(engine.policyName(Widget.FAMILY)).isEqualTo("jar-widget");
            // every call runs under the plugin's loader, which the engine names after the jar
            assertThat(widget.policy().greet("alice")).isEqualTo("hi alice from widget.jar");
            assertThat(engine.plugins().describe(Widget.FAMILY)).containsExactly("jar-widget (JarWidgetPlugin from " + plugins.resolve("widget.jar") + ")");
            assertThat(engine.plugins().families()).contains(Widget.FAMILY);
        }
    }

    @Test
    void aNewFamilyGetsTheSameStartUpErrorsAsTheOthers()
            throws IOException
    {
        Path plugins = pluginDirWithWidget();
        // its default is not registered and it has no fallback: start-up fails naming the key and what is available
        assertThatThrownBy(() -> build(plugins, Map.of()))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Widget 'plain' is not registered ('memory.widget.policy'). Available: [jar-widget (JarWidgetPlugin from ");
        // a typo in one of its policy's keys is caught by the policy, with the full key
        assertThatThrownBy(() -> build(plugins, Map.of("memory.widget.policy", "jar-widget", "memory.widget.jar-widget.greetin", "hi")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("Unknown configuration key 'memory.widget.jar-widget.greetin' (value 'hi'). Did you mean 'memory.widget.jar-widget.greeting'?");
        // a key of another policy of the family is refused by the engine
        assertThatThrownBy(() -> build(plugins, Map.of("memory.widget.policy", "jar-widget", "memory.widget.fancy.size", "1")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessage("Configuration key 'memory.widget.fancy.size' does not configure the selected widget 'jar-widget' ('memory.widget.policy' = 'jar-widget'): "
                        + "keys for it start with 'memory.widget.jar-widget.'");
    }

    @Test
    void anEngineWithoutTheFamilyRefusesItsKeys()
            throws IOException
    {
        Path plugins = pluginDirWithWidget();
        assertThatThrownBy(() -> MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .properties(Map.of("plugin.dir", plugins.toString(), "memory.widget.policy", "jar-widget"))
                .build())
                .isInstanceOf(ConfigurationException.class)
                .hasMessageStartingWith("Unknown configuration key 'memory.widget.policy' (value 'jar-widget').");
    }

    private MemoryEngine build(Path plugins, Map<String, String> properties)
    {
        return MemoryEngine.builder()
                .withoutClassPathDiscovery()
                .withoutJmx()
                .family(Widget.FAMILY)
                .property("plugin.dir", plugins.toString())
                .properties(properties)
                .build();
    }

    private Path pluginDirWithWidget()
            throws IOException
    {
        Path plugins = Files.createDirectories(temp.resolve("plugins"));
        TestJars.write(plugins.resolve("widget.jar"), JarWidgetPlugin.class, JarWidgetPlugin.class);
        return plugins;
    }
}
