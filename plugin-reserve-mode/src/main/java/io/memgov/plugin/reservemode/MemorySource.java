package io.memgov.plugin.reservemode;

/**
 * Where the reserve-mode pool reads available memory from, chosen by {@code memory.pool.reserve-mode.source}.
 */
enum MemorySource
{
    /** The machine's (or container's) available memory: {@code MemAvailable}, capped by the cgroup limit. */
    SYSTEM("system"),
    /** The JVM heap: maximum heap minus what is in use. */
    HEAP("heap");

    private final String configName;

    MemorySource(String configName)
    {
        this.configName = configName;
    }

    String configName()
    {
        return configName;
    }
}
