package io.memgov.lab;

import io.memgov.engine.MemoryEngine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Where the lab's engine configuration comes from: a file given with {@code --config}, or the embedded default
 * (the same as {@code etc/memory.properties}).
 */
final class LabConfig
{
    private LabConfig() {}

    static MemoryEngine.Builder engine(Path configFile)
    {
        MemoryEngine.Builder builder = MemoryEngine.builder();
        if (configFile != null) {
            return builder.propertiesFile(configFile);
        }
        Properties defaults = new Properties();
        try (InputStream in = LabConfig.class.getResourceAsStream("/memory.properties")) {
            defaults.load(in);
        }
        catch (IOException e) {
            throw new IllegalStateException("the lab's embedded default configuration cannot be read", e);
        }
        return builder.properties(defaults);
    }
}
