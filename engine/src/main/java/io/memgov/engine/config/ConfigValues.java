package io.memgov.engine.config;

import io.airlift.units.DataSize;
import io.airlift.units.Duration;

import java.util.Locale;

/**
 * Strict parsing of configuration values. Every failure names the key, the value and what is accepted.
 */
public final class ConfigValues
{
    private ConfigValues() {}

    /** A size such as {@code 512MB}, {@code 4GB} or {@code 1024B}; plain digits are bytes. */
    public static long parseBytes(String key, String value)
    {
        String trimmed = value.trim();
        try {
            if (!trimmed.isEmpty() && trimmed.chars().allMatch(Character::isDigit)) {
                return Long.parseLong(trimmed);
            }
            return DataSize.valueOf(trimmed).toBytes();
        }
        catch (IllegalArgumentException e) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected a size such as 512MB, 4GB or a number of bytes", value, key));
        }
    }

    /** A size, or a percentage of {@code heapBytes} such as {@code 30%}. */
    public static long parseHeapSize(String key, String value, long heapBytes)
    {
        String trimmed = value.trim();
        if (trimmed.endsWith("%")) {
            double percent;
            try {
                percent = Double.parseDouble(trimmed.substring(0, trimmed.length() - 1));
            }
            catch (NumberFormatException e) {
                percent = -1;
            }
            if (percent < 0 || percent > 100 || Double.isNaN(percent)) {
                throw new ConfigurationException(String.format(
                        "Invalid value '%s' for '%s': expected a size such as 512MB or 4GB, or a percentage of the heap between 0%% and 100%% such as 30%%", value, key));
            }
            return (long) (heapBytes * percent / 100);
        }
        try {
            return parseBytes(key, value);
        }
        catch (ConfigurationException e) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected a size such as 512MB or 4GB, or a percentage of the heap such as 30%%", value, key));
        }
    }

    /** A duration such as {@code 500ms}, {@code 1s}, {@code 5m}. */
    public static java.time.Duration parseDuration(String key, String value)
    {
        try {
            Duration duration = Duration.valueOf(value.trim());
            return java.time.Duration.ofNanos(duration.roundTo(java.util.concurrent.TimeUnit.NANOSECONDS));
        }
        catch (IllegalArgumentException e) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected a duration such as 500ms, 1s or 5m", value, key));
        }
    }

    /** A ratio in [0, 1], written {@code 0.9}. */
    public static double parseRatio(String key, String value)
    {
        double ratio;
        try {
            ratio = Double.parseDouble(value.trim());
        }
        catch (NumberFormatException e) {
            ratio = Double.NaN;
        }
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected a ratio between 0 and 1 such as 0.9", value, key));
        }
        return ratio;
    }

    public static boolean parseBoolean(String key, String value)
    {
        String normalized = value.trim().toLowerCase(Locale.ROOT);
        if (normalized.equals("true")) {
            return true;
        }
        if (normalized.equals("false")) {
            return false;
        }
        throw new ConfigurationException(String.format("Invalid value '%s' for '%s': expected true or false", value, key));
    }

    public static int parsePositiveInt(String key, String value)
    {
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed > 0) {
                return parsed;
            }
        }
        catch (NumberFormatException ignored) {
            // reported below with the accepted range
        }
        throw new ConfigurationException(String.format("Invalid value '%s' for '%s': expected a positive whole number", value, key));
    }
}
