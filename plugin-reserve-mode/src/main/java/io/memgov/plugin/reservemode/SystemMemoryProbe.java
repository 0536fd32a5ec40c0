package io.memgov.plugin.reservemode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import static java.util.Objects.requireNonNull;

/**
 * System available memory as TDengine's {@code taosGetSysAvailMemory} reads it, made cgroup-aware: {@code MemAvailable}
 * from {@code /proc/meminfo}, capped by what the process's memory cgroup still allows.
 *
 * <ul>
 * <li>The cgroup comes from {@code /proc/self/cgroup}: the {@code 0::<path>} line for cgroup v2, the line whose
 *     controllers include {@code memory} for v1.</li>
 * <li>v2: every level from {@code /sys/fs/cgroup/<path>} up to {@code /sys/fs/cgroup} that has a numeric
 *     {@code memory.max} contributes {@code memory.max - memory.current}; {@code max} means no limit at that level.
 *     The tightest level wins, since a parent's limit binds its children.</li>
 * <li>v1: {@code memory/<path>/memory.limit_in_bytes - memory.usage_in_bytes}; a limit of 2<sup>62</sup> or more is
 *     the kernel's "unlimited" (it writes {@code 9223372036854771712}).</li>
 * <li>When {@code <path>} does not exist under the mount (a container with its own cgroup namespace sees its cgroup
 *     as the root), the mount's root directory is read instead.</li>
 * <li>No {@code /proc/self/cgroup}, or no memory files, means no cgroup cap. An unreadable or malformed
 *     {@code /proc/meminfo} or cgroup file is an error naming the file.</li>
 * </ul>
 *
 * <p>Both roots are constructor arguments so that tests run on fixture directories. Total memory is
 * {@code MemTotal} capped by the tightest cgroup limit.
 */
final class SystemMemoryProbe
        implements AvailableMemoryProbe
{
    // the kernel reports "no limit" in v1 as LONG_MAX rounded down to a page; anything this large is no limit
    private static final long UNLIMITED_V1 = 1L << 62;

    private final Path procRoot;
    private final Path cgroupRoot;

    SystemMemoryProbe()
    {
        this(Path.of("/proc"), Path.of("/sys/fs/cgroup"));
    }

    /**
     * @param procRoot where {@code meminfo} and {@code self/cgroup} live, normally {@code /proc}
     * @param cgroupRoot the cgroup mount, normally {@code /sys/fs/cgroup}
     */
    SystemMemoryProbe(Path procRoot, Path cgroupRoot)
    {
        this.procRoot = requireNonNull(procRoot, "procRoot is null");
        this.cgroupRoot = requireNonNull(cgroupRoot, "cgroupRoot is null");
    }

    @Override
    public long availableBytes()
    {
        long available = memInfo("MemAvailable");
        for (CgroupLevel level : cgroupLevels()) {
            available = Math.min(available, Math.max(0, level.limitBytes() - level.usageBytes()));
        }
        return available;
    }

    @Override
    public long totalBytes()
    {
        long total = memInfo("MemTotal");
        for (CgroupLevel level : cgroupLevels()) {
            total = Math.min(total, level.limitBytes());
        }
        return total;
    }

    @Override
    public String description()
    {
        List<CgroupLevel> levels;
        try {
            levels = cgroupLevels();
        }
        catch (IllegalStateException e) {
            return procRoot.resolve("meminfo") + " (cgroup unreadable: " + e.getMessage() + ")";
        }
        if (levels.isEmpty()) {
            return procRoot.resolve("meminfo") + " (no cgroup memory limit)";
        }
        return procRoot.resolve("meminfo") + " capped by cgroup " + levels.get(0).limitFile().getParent();
    }

    /** A {@code kB} figure from meminfo, in bytes. */
    private long memInfo(String field)
    {
        Path file = procRoot.resolve("meminfo");
        for (String line : readLines(file)) {
            if (line.startsWith(field + ":")) {
                String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                try {
                    long value = Long.parseLong(parts[0]);
                    boolean kiloBytes = parts.length > 1 && parts[1].equalsIgnoreCase("kB");
                    return kiloBytes ? value * 1024 : value;
                }
                catch (NumberFormatException e) {
                    throw new IllegalStateException("Cannot read available memory: malformed " + field + " line in " + file + ": '" + line + "'");
                }
            }
        }
        throw new IllegalStateException("Cannot read available memory: no " + field + " line in " + file);
    }

    /** The cgroup levels with a memory limit, leaf first; empty when the process has no limited memory cgroup. */
    List<CgroupLevel> cgroupLevels()
    {
        Path selfCgroup = procRoot.resolve("self").resolve("cgroup");
        if (!Files.exists(selfCgroup)) {
            return List.of();
        }
        List<String> lines = readLines(selfCgroup);
        Optional<String> v1Path = lines.stream()
                .map(line -> line.split(":", 3))
                .filter(parts -> parts.length == 3 && List.of(parts[1].split(",")).contains("memory"))
                .map(parts -> parts[2])
                .findFirst();
        if (v1Path.isPresent()) {
            return v1Level(v1Path.get()).map(List::of).orElse(List.of());
        }
        Optional<String> v2Path = lines.stream()
                .filter(line -> line.startsWith("0::"))
                .map(line -> line.substring(3))
                .findFirst();
        return v2Path.map(this::v2Levels).orElse(List.of());
    }

    private Optional<CgroupLevel> v1Level(String cgroupPath)
    {
        Path directory = existingDirectory(cgroupRoot.resolve("memory"), cgroupPath);
        Path limitFile = directory.resolve("memory.limit_in_bytes");
        if (!Files.exists(limitFile)) {
            return Optional.empty();
        }
        long limit = readNumber(limitFile).orElse(Long.MAX_VALUE);
        if (limit >= UNLIMITED_V1) {
            return Optional.empty();
        }
        long usage = readBytes(directory.resolve("memory.usage_in_bytes"));
        return Optional.of(new CgroupLevel(limitFile, limit, usage));
    }

    private List<CgroupLevel> v2Levels(String cgroupPath)
    {
        List<CgroupLevel> levels = new ArrayList<>();
        Path root = cgroupRoot.toAbsolutePath().normalize();
        Path directory = existingDirectory(root, cgroupPath).toAbsolutePath().normalize();
        while (directory != null && directory.startsWith(root)) {
            Path maxFile = directory.resolve("memory.max");
            if (Files.exists(maxFile)) {
                OptionalLong max = readNumber(maxFile);
                if (max.isPresent()) {
                    long current = readBytes(directory.resolve("memory.current"));
                    levels.add(new CgroupLevel(maxFile, max.getAsLong(), current));
                }
            }
            directory = directory.equals(root) ? null : directory.getParent();
        }
        return levels;
    }

    private static Path existingDirectory(Path mount, String cgroupPath)
    {
        String relative = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
        Path candidate = relative.isEmpty() ? mount : mount.resolve(relative);
        // inside a cgroup namespace the process's own cgroup is mounted as the root
        return Files.isDirectory(candidate) ? candidate : mount;
    }

    private static long readBytes(Path file)
    {
        return readNumber(file).orElseThrow(() -> new IllegalStateException("Cannot read available memory: expected a number of bytes in " + file + ", found 'max'"));
    }

    /** A number, or empty for the cgroup v2 word {@code max}. */
    private static OptionalLong readNumber(Path file)
    {
        List<String> lines = readLines(file);
        String value = lines.isEmpty() ? "" : lines.get(0).trim();
        if (value.equals("max")) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(value));
        }
        catch (NumberFormatException e) {
            throw new IllegalStateException("Cannot read available memory: expected a number of bytes or 'max' in " + file + ", found '" + value + "'");
        }
    }

    private static List<String> readLines(Path file)
    {
        try {
            return Files.readAllLines(file);
        }
        catch (NoSuchFileException e) {
            throw new IllegalStateException("Cannot read available memory: " + file + " does not exist", e);
        }
        catch (IOException e) {
            throw new IllegalStateException("Cannot read available memory from " + file + ": " + e, e);
        }
    }

    /** One cgroup directory with a memory limit: the file the limit came from, the limit and current usage. */
    record CgroupLevel(Path limitFile, long limitBytes, long usageBytes)
    {
        CgroupLevel
        {
            requireNonNull(limitFile, "limitFile is null");
        }
    }
}
