package com.example.memgov.killer;

import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.killer.LowMemoryKillerContext;
import io.memgov.spi.killer.LowMemoryKillerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Creates the query killer {@code most-tasks-on-blocked-nodes}. Accepts one key, {@code min-task-bytes}: a size of at
 * least one byte, such as {@code 1048576}, {@code 512kB} or {@code 1MB} (the SPI's {@code PolicyConfig} grammar). Any
 * other key fails start-up, with a "did you mean" for a near miss, so that a typo in the properties file is not
 * silently ignored.
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
    public List<PolicyConfigKey> configKeys()
    {
        return List.of(new PolicyConfigKey(MIN_TASK_BYTES, "1B", "tasks holding less than this on a blocked node (user plus revocable) do not count"));
    }

    @Override
    public LowMemoryKiller create(PolicyConfig config, LowMemoryKillerContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        config.requireOnly(MIN_TASK_BYTES);
        return new MostTasksOnBlockedNodesLowMemoryKiller(config.size(MIN_TASK_BYTES, 1, 1, Long.MAX_VALUE));
    }
}
