package io.memgov.plugin.treetracking;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import static java.nio.charset.StandardCharsets.US_ASCII;

/**
 * Where the correction worker reads what the process really uses ({@code correction-source}).
 */
enum CorrectionSource
{
    /** Heap in use, from the {@link MemoryMXBean}; includes garbage not yet collected. */
    HEAP("heap"),
    /** The process's resident set, {@code VmRSS} in {@code /proc/self/status} (Linux). */
    RSS("rss"),
    /** The cgroup's charge: v2 {@code memory.current}, else v1 {@code memory.usage_in_bytes}. */
    CGROUP("cgroup");

    static final Path PROC_SELF_STATUS = Path.of("/proc/self/status");
    static final Path CGROUP_V2_CURRENT = Path.of("/sys/fs/cgroup/memory.current");
    static final Path CGROUP_V1_USAGE = Path.of("/sys/fs/cgroup/memory/memory.usage_in_bytes");

    private final String configName;

    CorrectionSource(String configName)
    {
        this.configName = configName;
    }

    String configName()
    {
        return configName;
    }

    /** Returns null for an unknown name. */
    static CorrectionSource fromConfigName(String name)
    {
        return Arrays.stream(values()).filter(source -> source.configName.equals(name)).findFirst().orElse(null);
    }

    static List<String> configNames()
    {
        return Arrays.stream(values()).map(CorrectionSource::configName).collect(Collectors.toList());
    }

    /**
     * A reader of this source in bytes. Fails at once when the source does not exist here, so that a bad choice
     * fails start-up rather than every tick.
     *
     * @throws IllegalArgumentException if this system does not offer the source
     */
    LongSupplier reader()
    {
        switch (this) {
            case HEAP:
                MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
                return () -> memory.getHeapMemoryUsage().getUsed();
            case RSS:
                LongSupplier rss = () -> parseVmRss(read(PROC_SELF_STATUS));
                checkAvailable(rss, "/proc/self/status with a VmRSS line");
                return rss;
            case CGROUP:
                LongSupplier cgroup = cgroupReader(CGROUP_V2_CURRENT, CGROUP_V1_USAGE);
                checkAvailable(cgroup, CGROUP_V2_CURRENT + " (cgroup v2) or " + CGROUP_V1_USAGE + " (cgroup v1)");
                return cgroup;
        }
        throw new AssertionError("unknown source " + this);
    }

    private void checkAvailable(LongSupplier reader, String needs)
    {
        try {
            reader.getAsLong();
        }
        catch (RuntimeException e) {
            throw new IllegalArgumentException(String.format(
                    "Value '%s' for configuration key '%s%s' is not available on this system: it needs %s (%s). Accepted: %s",
                    configName, ThreadBatchedConfig.PREFIX, ThreadBatchedConfig.CORRECTION_SOURCE, needs, e.getMessage(), configNames()), e);
        }
    }

    /** Reads v2 when its file exists, else v1; each call re-checks, so a remounted cgroup is picked up. */
    static LongSupplier cgroupReader(Path v2Current, Path v1Usage)
    {
        return () -> {
            Path path = Files.exists(v2Current) ? v2Current : v1Usage;
            String text = read(path).trim();
            if (text.equals("max")) {
                throw new IllegalStateException(path + " holds no number: " + text);
            }
            return Long.parseLong(text);
        };
    }

    /** The {@code VmRSS} line of {@code /proc/<pid>/status}, in bytes (the kernel prints kB = KiB). */
    static long parseVmRss(String status)
    {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.substring("VmRSS:".length()).trim().split("\\s+");
                long value = Long.parseLong(parts[0]);
                return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value;
            }
        }
        throw new IllegalStateException("no VmRSS line in the process status");
    }

    private static String read(Path path)
    {
        try {
            return Files.readString(path, US_ASCII);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }
}
