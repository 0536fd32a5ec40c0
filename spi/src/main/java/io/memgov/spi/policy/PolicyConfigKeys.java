package io.memgov.spi.policy;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static java.util.Objects.requireNonNull;

/**
 * Rejects configuration keys a policy does not know, so that a typo in a properties file fails start-up instead of
 * being silently ignored. Stateless; safe from any thread, provided the caller does not modify {@code config} or
 * {@code accepted} while a check runs.
 *
 * @since 0.1
 */
public final class PolicyConfigKeys
{
    private PolicyConfigKeys() {}

    /**
     * Fails on the first key of {@code config}, in sorted (natural {@link String}) order so that the message does
     * not depend on the map's iteration order, that {@code accepted} does not contain. Values are not looked at.
     * The message is exactly {@code Unknown configuration key '<key>' for <policy>. Accepted: <accepted>}, where
     * {@code <accepted>} is {@code accepted} sorted and printed as a list, e.g. {@code [max-size]} or {@code []}.
     *
     * @param config the keys a factory received, as given to its {@code create} method; not modified
     * @param policy how the message names the policy, e.g. {@code low memory killer 'none'}; printed as given
     * @param accepted the keys the policy understands; may be empty, then every key is rejected
     * @throws NullPointerException if an argument is null, or if {@code config} holds a null key or {@code accepted}
     *         holds a null element (maps and sets from {@link Map#of} and {@link Set#of} never do)
     * @throws IllegalArgumentException if {@code config} holds a key that {@code accepted} does not contain
     */
    public static void checkKnown(Map<String, String> config, String policy, Set<String> accepted)
    {
        requireNonNull(config, "config is null");
        requireNonNull(policy, "policy is null");
        requireNonNull(accepted, "accepted is null");
        for (String key : new TreeSet<>(config.keySet())) {
            if (!accepted.contains(key)) {
                throw new IllegalArgumentException(String.format(
                        "Unknown configuration key '%s' for %s. Accepted: %s",
                        key, policy, new TreeSet<>(accepted)));
            }
        }
    }
}
