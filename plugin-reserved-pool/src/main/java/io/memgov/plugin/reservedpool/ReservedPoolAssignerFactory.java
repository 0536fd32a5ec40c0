package io.memgov.plugin.reservedpool;

import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignerContext;
import io.memgov.spi.assignment.MemoryPoolAssignerFactory;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.util.List;

/**
 * Pool assigner {@code reserved-pool}: the cluster loop's half of the pool policy of the same name, which the engine
 * selects whenever {@code memory.pool.policy=reserved-pool} and {@code memory.pool-assigner.policy} is not set. Key
 * {@code promote-when}: {@code no-query-assigned} (Presto's rule, the default) or {@code reserved-empty}.
 */
final class ReservedPoolAssignerFactory
        implements MemoryPoolAssignerFactory
{
    @Override
    public String name()
    {
        return ReservedPoolFactory.NAME;
    }

    static final String PROMOTE_WHEN = "promote-when";

    @Override
    public List<PolicyConfigKey> configKeys()
    {
        return List.of(new PolicyConfigKey(PROMOTE_WHEN, PolicyConfig.kebab(ReservedPoolAssigner.PromotionRule.NO_QUERY_ASSIGNED),
                "when RESERVED is free for the next promotion: no-query-assigned (Presto: no running query is assigned to it) or reserved-empty "
                        + "(also no bytes left in it on any node)"));
    }

    @Override
    public MemoryPoolAssigner create(PolicyConfig config, MemoryPoolAssignerContext context)
    {
        config.requireOnly(PROMOTE_WHEN);
        ReservedPoolAssigner.PromotionRule rule = config.choice(PROMOTE_WHEN, ReservedPoolAssigner.PromotionRule.class,
                ReservedPoolAssigner.PromotionRule.NO_QUERY_ASSIGNED);
        return new ReservedPoolAssigner(ReservedPoolFactory.GENERAL, ReservedPoolFactory.RESERVED, rule);
    }
}
