package io.memgov.engine.config;

/**
 * A configurable policy slot: which key selects it, its default, and the prefix of its own keys.
 */
public enum PolicyFamily
{
    POOL("memory pool", "memory.pool", "fixed"),
    TRACKER("memory tracker", "memory.tracker", "exact"),
    QUERY_KILLER("low memory killer", "query.low-memory-killer", "total-reservation-on-blocked-nodes"),
    TASK_KILLER("task low memory killer", "task.low-memory-killer", "total-reservation-on-blocked-nodes"),
    SPILL_STRATEGY("spill strategy", "memory.spill-strategy", "threshold"),
    LEAK_DETECTOR("memory leak detector", "memory.leak-detector", "leak-detector");

    private final String displayName;
    private final String prefix;
    private final String defaultPolicy;

    PolicyFamily(String displayName, String prefix, String defaultPolicy)
    {
        this.displayName = displayName;
        this.prefix = prefix;
        this.defaultPolicy = defaultPolicy;
    }

    /** How messages name the family, e.g. {@code low memory killer}. */
    public String displayName()
    {
        return displayName;
    }

    /** The key that selects the policy, e.g. {@code query.low-memory-killer.policy}. */
    public String policyKey()
    {
        return prefix + ".policy";
    }

    /** Keys that configure policy {@code name} start with this. */
    public String configPrefix(String name)
    {
        return prefix + "." + name + ".";
    }

    String prefix()
    {
        return prefix;
    }

    public String defaultPolicy()
    {
        return defaultPolicy;
    }
}
