package com.example.memgov.killer;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfigKeys;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Creates the query killer {@code most-tasks-on-blocked-nodes}. Accepts one key, {@code min-task-bytes}: a plain
 * number of bytes or a number followed by {@code B}, {@code kB}, {@code MB} or {@code GB} (powers of 1024), at least
 * 1. Any other key fails start-up, so that a typo in the properties file is not silently ignored.
 */
final class MostTasksOnBlockedNodesLowMemoryKillerFactory
        implements LowMemoryKillerFactory
{
    static final String NAME = "most-tasks-on-blocked-nodes";
    static final String MIN_TASK_BYTES = "min-task-bytes";

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public KillerScope scope()
    {
        return KillerScope.QUERY;
    }

    @Override
    public LowMemoryKiller create(Map<String, String> config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        PolicyConfigKeys.checkKnown(config, "low memory killer '" + NAME + "'", Set.of(MIN_TASK_BYTES));
        long minTaskBytes = config.containsKey(MIN_TASK_BYTES) ? parseBytes(config.get(MIN_TASK_BYTES)) : 1;
        return new MostTasksOnBlockedNodesLowMemoryKiller(minTaskBytes);
    }

    static long parseBytes(String value)
    {
        String text = value.trim();
        int digits = 0;
        while (digits < text.length() && Character.isDigit(text.charAt(digits))) {
            digits++;
        }
        long multiplier = switch (text.substring(digits).trim().toUpperCase(Locale.ROOT)) {
            case "", "B" -> 1;
            case "KB" -> 1L << 10;
            case "MB" -> 1L << 20;
            case "GB" -> 1L << 30;
            default -> 0;
        };
        long bytes = 0;
        if (digits > 0 && digits <= 12 && multiplier > 0) {
            bytes = Long.parseLong(text.substring(0, digits)) * multiplier;
        }
        if (bytes < 1) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s' of low memory killer '%s': expected a size of at least 1 byte, such as 1048576, 512kB or 1MB",
                    value, MIN_TASK_BYTES, NAME));
        }
        return bytes;
    }
}
