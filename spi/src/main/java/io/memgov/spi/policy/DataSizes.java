package io.memgov.spi.policy;

import java.util.Locale;

/**
 * Formats byte counts for messages, the way the anchors print them. Pure functions; safe from any thread.
 *
 * @since 1.0
 */
public final class DataSizes
{
    private static final String[] SUCCINCT_UNITS = {"B", "kB", "MB", "GB", "TB", "PB"};
    private static final String[] BINARY_UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

    private DataSizes() {}

    /**
     * Trino's {@code succinctBytes}: the largest 1024-based unit in which the value is at least 1, with two decimals
     * unless the value is a whole number, e.g. {@code 1kB}, {@code 1.50MB}, {@code 4GB}, {@code 17B}.
     * Negative values keep their sign.
     */
    public static String succinct(long bytes)
    {
        if (bytes < 0) {
            return "-" + succinct(bytes == Long.MIN_VALUE ? Long.MAX_VALUE : -bytes);
        }
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < SUCCINCT_UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        if (value == Math.floor(value)) {
            return String.format(Locale.ROOT, "%d%s", (long) value, SUCCINCT_UNITS[unit]);
        }
        return String.format(Locale.ROOT, "%.2f%s", value, SUCCINCT_UNITS[unit]);
    }

    /** ClickHouse's {@code formatReadableSizeWithBinarySuffix}: always two decimals, e.g. {@code 10.50 MiB}. */
    public static String binary(long bytes)
    {
        double value = Math.abs((double) bytes);
        int unit = 0;
        while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%s%.2f %s", bytes < 0 ? "-" : "", value, BINARY_UNITS[unit]);
    }
}
