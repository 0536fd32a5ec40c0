package io.memgov.plugin.spill;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The config keys of one strategy, validated on construction: an unknown key fails with the key, its value and
 * the accepted keys.
 */
final class StrategyConfig
{
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
    private static final List<String> UNITS = List.of("B", "kB", "MB", "GB", "TB", "PB");
    private static final String ACCEPTED_SIZES = "a non-negative size such as 500MB, 1.5GB or 1048576 (units B, kB, MB, GB, TB, PB; 1kB = 1024B)";

    private final String strategyName;
    private final Map<String, String> config;

    StrategyConfig(String strategyName, List<String> acceptedKeys, Map<String, String> config)
    {
        this.strategyName = requireNonNull(strategyName, "strategyName is null");
        requireNonNull(acceptedKeys, "acceptedKeys is null");
        this.config = Map.copyOf(requireNonNull(config, "config is null"));
        // sorted, so that the message names the same key first on every run
        for (String key : new TreeSet<>(this.config.keySet())) {
            if (!acceptedKeys.contains(key)) {
                throw new IllegalArgumentException(String.format(
                        "Unknown configuration key '%s' (value '%s') for spill strategy '%s'. Accepted keys: %s",
                        key, this.config.get(key), strategyName, acceptedKeys.isEmpty() ? "none" : String.join(", ", acceptedKeys)));
            }
        }
    }

    /** The size under {@code key} in bytes, or {@code defaultBytes} when the key is absent. */
    long sizeBytes(String key, long defaultBytes)
    {
        String value = config.get(key);
        if (value == null) {
            return defaultBytes;
        }
        return parseSize(key, value, strategyName);
    }

    static long parseSize(String key, String value, String owner)
    {
        Matcher matcher = SIZE.matcher(value.trim());
        if (matcher.matches()) {
            String unitText = matcher.group(2);
            int unit = unitText.isEmpty() ? 0 : unitIndex(unitText);
            if (unit >= 0) {
                BigDecimal bytes = new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(1024).pow(unit));
                if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) <= 0) {
                    return bytes.longValue();
                }
            }
        }
        throw new IllegalArgumentException(String.format(
                "Invalid value '%s' for configuration key '%s' of spill strategy '%s': expected %s",
                value, key, owner, ACCEPTED_SIZES));
    }

    private static int unitIndex(String unit)
    {
        for (int i = 0; i < UNITS.size(); i++) {
            if (UNITS.get(i).toUpperCase(Locale.ROOT).equals(unit.toUpperCase(Locale.ROOT))) {
                return i;
            }
        }
        return -1;
    }
}
