package io.memgov.plugin.none;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Validates the keys a factory receives, so that a typo in a properties file fails start-up instead of being ignored.
 */
final class ConfigKeys
{
    private ConfigKeys() {}

    /** Fails on the first key (in sorted order, so the message is stable) that {@code accepted} does not hold. */
    static void checkKnown(Map<String, String> config, String killerName, Set<String> accepted)
    {
        for (String key : new TreeSet<>(config.keySet())) {
            if (!accepted.contains(key)) {
                throw new IllegalArgumentException(String.format(
                        "Unknown configuration key '%s' for low memory killer '%s'. Accepted: %s",
                        key, killerName, new TreeSet<>(accepted)));
            }
        }
    }
}
