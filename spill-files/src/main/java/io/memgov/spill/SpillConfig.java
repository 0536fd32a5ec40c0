package io.memgov.spill;

import io.memgov.spi.policy.PolicyConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * How a {@link SpillFileManager} spills: where, how much, and how blocks are stored. Immutable; Trino's names and
 * defaults ({@code NodeSpillConfig}, {@code FeaturesConfig}).
 *
 * <table>
 *     <caption>Keys read by {@link #fromProperties(Map)}</caption>
 *     <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *     <tr><td>{@code spiller-spill-path}</td><td>{@code java.io.tmpdir}</td><td>comma-separated directories, used round-robin</td></tr>
 *     <tr><td>{@code max-spill-per-node}</td><td>100GB</td><td>bytes on disk for all queries of the node</td></tr>
 *     <tr><td>{@code query-max-spill-per-node}</td><td>100GB</td><td>bytes on disk for one query on the node</td></tr>
 *     <tr><td>{@code spiller-max-used-space-threshold}</td><td>0.9</td><td>a disk used above this fraction takes no new spill file</td></tr>
 *     <tr><td>{@code spill-compression-codec}</td><td>NONE</td><td>{@code NONE} or {@code LZ4}</td></tr>
 *     <tr><td>{@code spill-encryption-enabled}</td><td>false</td><td>AES-GCM with a key per query held only in memory</td></tr>
 * </table>
 *
 * @param spillPaths the spill directories, at least one, none empty or blank, without duplicates; kept absolute and
 *        normalized; the manager creates the missing ones
 * @param maxSpillPerNodeBytes non-negative
 * @param queryMaxSpillPerNodeBytes non-negative
 * @param maxUsedSpaceThreshold in [0, 1]
 * @param compression never null
 * @param encryptionEnabled whether blocks are encrypted
 * @since 0.1
 */
public record SpillConfig(
        List<Path> spillPaths,
        long maxSpillPerNodeBytes,
        long queryMaxSpillPerNodeBytes,
        double maxUsedSpaceThreshold,
        SpillCompression compression,
        boolean encryptionEnabled)
{
    public static final String SPILL_PATH = "spiller-spill-path";
    public static final String MAX_SPILL_PER_NODE = "max-spill-per-node";
    public static final String QUERY_MAX_SPILL_PER_NODE = "query-max-spill-per-node";
    public static final String MAX_USED_SPACE_THRESHOLD = "spiller-max-used-space-threshold";
    public static final String COMPRESSION_CODEC = "spill-compression-codec";
    public static final String ENCRYPTION_ENABLED = "spill-encryption-enabled";

    private static final List<String> KEYS = List.of(
            SPILL_PATH, MAX_SPILL_PER_NODE, QUERY_MAX_SPILL_PER_NODE, MAX_USED_SPACE_THRESHOLD, COMPRESSION_CODEC, ENCRYPTION_ENABLED);
    private static final long DEFAULT_MAX_SPILL_BYTES = 100L * 1024 * 1024 * 1024;

    public SpillConfig
    {
        requireNonNull(spillPaths, "spillPaths is null");
        requireNonNull(compression, "compression is null");
        if (spillPaths.isEmpty()) {
            throw new IllegalArgumentException("spillPaths is empty: at least one spill directory is needed");
        }
        Set<Path> distinct = new LinkedHashSet<>();
        for (Path path : spillPaths) {
            requireNonNull(path, "spillPaths contains null");
            // an empty path is the working directory: spill files would go wherever the host happened to start
            if (path.toString().isEmpty()) {
                throw new IllegalArgumentException("spillPaths contains an empty path: " + spillPaths + "; expected directories such as /var/spill");
            }
            if (path.toString().isBlank()) {
                throw new IllegalArgumentException("spillPaths contains a blank path '" + path + "': " + spillPaths + "; expected directories such as /var/spill");
            }
            if (!distinct.add(path.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("spillPaths contains " + path + " twice: " + spillPaths);
            }
        }
        spillPaths = List.copyOf(distinct);
        if (maxSpillPerNodeBytes < 0) {
            throw new IllegalArgumentException("maxSpillPerNodeBytes is negative: " + maxSpillPerNodeBytes);
        }
        if (queryMaxSpillPerNodeBytes < 0) {
            throw new IllegalArgumentException("queryMaxSpillPerNodeBytes is negative: " + queryMaxSpillPerNodeBytes);
        }
        if (!(maxUsedSpaceThreshold >= 0 && maxUsedSpaceThreshold <= 1)) {
            throw new IllegalArgumentException("maxUsedSpaceThreshold must be in [0, 1]: " + maxUsedSpaceThreshold);
        }
    }

    /** Every key at its default; spills into {@code java.io.tmpdir}. */
    public static SpillConfig defaults()
    {
        return builder().build();
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /**
     * Reads the keys listed on this type; missing keys keep their defaults.
     *
     * @param properties never null
     * @throws IllegalArgumentException for an unknown key or a bad value, naming the key, the value and what is accepted
     */
    public static SpillConfig fromProperties(Map<String, String> properties)
    {
        requireNonNull(properties, "properties is null");
        PolicyConfig values = PolicyConfig.of("", properties);
        values.requireOnly(KEYS);
        Builder builder = builder();
        values.string(SPILL_PATH).ifPresent(value -> builder.spillPaths(parsePaths(value)));
        if (values.contains(MAX_SPILL_PER_NODE)) {
            builder.maxSpillPerNodeBytes(values.size(MAX_SPILL_PER_NODE, DEFAULT_MAX_SPILL_BYTES));
        }
        if (values.contains(QUERY_MAX_SPILL_PER_NODE)) {
            builder.queryMaxSpillPerNodeBytes(values.size(QUERY_MAX_SPILL_PER_NODE, DEFAULT_MAX_SPILL_BYTES));
        }
        if (values.contains(MAX_USED_SPACE_THRESHOLD)) {
            builder.maxUsedSpaceThreshold(values.ratio(MAX_USED_SPACE_THRESHOLD, 0.9));
        }
        if (values.contains(COMPRESSION_CODEC)) {
            builder.compression(values.choice(COMPRESSION_CODEC, SpillCompression.class, SpillCompression.NONE));
        }
        if (values.contains(ENCRYPTION_ENABLED)) {
            builder.encryptionEnabled(values.bool(ENCRYPTION_ENABLED, false));
        }
        return builder.build();
    }

    private static List<Path> parsePaths(String value)
    {
        List<Path> paths = new ArrayList<>();
        Set<Path> distinct = new LinkedHashSet<>();
        for (String part : PolicyConfig.parseList(SPILL_PATH, value)) {
            Path path;
            try {
                path = Path.of(part);
            }
            catch (RuntimeException e) {
                throw new IllegalArgumentException(String.format(
                        "Invalid value '%s' for '%s': '%s' is not a valid path", value, SPILL_PATH, part), e);
            }
            if (!distinct.add(path.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException(String.format(
                        "Invalid value '%s' for '%s': '%s' is listed twice", value, SPILL_PATH, part));
            }
            paths.add(path);
        }
        return paths;
    }

    /** Builds a {@link SpillConfig}; starts at the defaults. Not thread-safe. */
    public static final class Builder
    {
        private List<Path> spillPaths = List.of(Path.of(System.getProperty("java.io.tmpdir")));
        private long maxSpillPerNodeBytes = DEFAULT_MAX_SPILL_BYTES;
        private long queryMaxSpillPerNodeBytes = DEFAULT_MAX_SPILL_BYTES;
        private double maxUsedSpaceThreshold = 0.9;
        private SpillCompression compression = SpillCompression.NONE;
        private boolean encryptionEnabled;

        private Builder() {}

        public Builder spillPaths(List<Path> spillPaths)
        {
            this.spillPaths = List.copyOf(requireNonNull(spillPaths, "spillPaths is null"));
            return this;
        }

        public Builder spillPaths(Path... spillPaths)
        {
            return spillPaths(List.of(spillPaths));
        }

        public Builder maxSpillPerNodeBytes(long maxSpillPerNodeBytes)
        {
            this.maxSpillPerNodeBytes = maxSpillPerNodeBytes;
            return this;
        }

        public Builder queryMaxSpillPerNodeBytes(long queryMaxSpillPerNodeBytes)
        {
            this.queryMaxSpillPerNodeBytes = queryMaxSpillPerNodeBytes;
            return this;
        }

        public Builder maxUsedSpaceThreshold(double maxUsedSpaceThreshold)
        {
            this.maxUsedSpaceThreshold = maxUsedSpaceThreshold;
            return this;
        }

        public Builder compression(SpillCompression compression)
        {
            this.compression = requireNonNull(compression, "compression is null");
            return this;
        }

        public Builder encryptionEnabled(boolean encryptionEnabled)
        {
            this.encryptionEnabled = encryptionEnabled;
            return this;
        }

        public SpillConfig build()
        {
            return new SpillConfig(spillPaths, maxSpillPerNodeBytes, queryMaxSpillPerNodeBytes, maxUsedSpaceThreshold, compression, encryptionEnabled);
        }
    }
}
