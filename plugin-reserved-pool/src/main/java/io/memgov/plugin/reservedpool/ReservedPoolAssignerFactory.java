package io.memgov.plugin.reservedpool;

import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.policy.PolicyConfig;

/**
 * Pool assigner {@code reserved-pool}: the cluster loop's half of the pool policy of the same name, which the engine
 * selects whenever {@code memory.pool.policy=reserved-pool} and {@code memory.pool-assigner.policy} is not set. It has
 * no keys of its own.
 */
final class ReservedPoolAssignerFactory
        implements MemoryPoolAssignerFactory
{
    @Override
    public String name()
    {
        return ReservedPoolFactory.NAME;
    }

    @Override
    public MemoryPoolAssigner create(PolicyConfig config, MemoryPoolAssignerContext context)
    {
        config.requireOnly();
        return new ReservedPoolAssigner(ReservedPoolFactory.GENERAL, ReservedPoolFactory.RESERVED);
    }
}
