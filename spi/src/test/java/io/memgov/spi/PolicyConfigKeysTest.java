package io.memgov.spi;

import io.memgov.spi.policy.PolicyConfigKeys;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class PolicyConfigKeysTest
{
    private static final String POLICY = "low memory killer 'none'";

    @Test
    void acceptsEmptyConfigAndKnownKeys()
    {
        assertThatCode(() -> PolicyConfigKeys.checkKnown(Map.of(), POLICY, Set.of())).doesNotThrowAnyException();
        assertThatCode(() -> PolicyConfigKeys.checkKnown(Map.of("max-size", "1GB"), "memory pool 'fixed'", Set.of("max-size", "min-size")))
                .doesNotThrowAnyException();
    }

    @Test
    void rejectsEveryKeyWhenNoneAreAccepted()
    {
        // the exact text plugins and their tests rely on: an empty accepted set prints as []
        assertThatThrownBy(() -> PolicyConfigKeys.checkKnown(Map.of("delay", "5m"), POLICY, Set.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'delay' for low memory killer 'none'. Accepted: []");
    }

    @Test
    void namesTheFirstUnknownKeyInSortedOrderAndListsAcceptedKeysSorted()
    {
        // insertion order puts "zeta" first; the message must still name "beta", whatever the map's order
        Map<String, String> config = new LinkedHashMap<>();
        config.put("zeta", "1");
        config.put("max-size", "1GB");
        config.put("beta", "2");
        assertThatThrownBy(() -> PolicyConfigKeys.checkKnown(config, "memory pool 'fixed'", Set.of("min-size", "max-size", "a-key")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'beta' for memory pool 'fixed'. Accepted: [a-key, max-size, min-size]");
    }

    @Test
    void doesNotModifyItsArguments()
    {
        Map<String, String> config = new HashMap<>(Map.of("max-size", "1GB"));
        PolicyConfigKeys.checkKnown(config, POLICY, Set.of("max-size"));
        assertThat(config).containsExactly(Map.entry("max-size", "1GB"));
    }

    @Test
    void rejectsNullArguments()
    {
        assertThatThrownBy(() -> PolicyConfigKeys.checkKnown(null, POLICY, Set.of()))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("config is null");
        assertThatThrownBy(() -> PolicyConfigKeys.checkKnown(Map.of(), null, Set.of()))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("policy is null");
        assertThatThrownBy(() -> PolicyConfigKeys.checkKnown(Map.of(), POLICY, null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("accepted is null");
    }
}
