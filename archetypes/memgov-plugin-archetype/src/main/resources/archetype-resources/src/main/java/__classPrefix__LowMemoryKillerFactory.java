package ${package};

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Creates the query killer {@code ${policyName}}, once, at engine start-up. Its keys live under
 * {@code query.low-memory-killer.${policyName}.}; any other key there fails start-up with a "did you mean", so that a
 * typo in the properties file is not silently ignored.
 */
final class ${classPrefix}LowMemoryKillerFactory
        implements LowMemoryKillerFactory
{
    static final String NAME = "${policyName}";
    static final String MIN_BYTES = "min-bytes-on-blocked-nodes";

    private static final List<PolicyConfigKey> KEYS = List.of(
            new PolicyConfigKey(MIN_BYTES, "1B", "queries holding less than this on blocked nodes (user plus revocable) are never chosen"));

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
    public List<PolicyConfigKey> configKeys()
    {
        return KEYS;
    }

    @Override
    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        config.requireOnly(KEYS.stream().map(PolicyConfigKey::name).toList());
        return new ${classPrefix}LowMemoryKiller(config.size(MIN_BYTES, 1, 1, Long.MAX_VALUE));
    }
}
