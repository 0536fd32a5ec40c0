package io.memgov.engine;

import io.memgov.engine.ConfigurationException;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import io.memgov.spi.query.RetryPolicy;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;

import static java.util.Objects.requireNonNull;

/**
 * What the host knows about a query's session that memory governance uses: the user, the retry policy, a priority
 * and Trino's memory session properties. Session limits can only lower the configured ones; a larger value is
 * ignored, as in Trino.
 */
public final class QuerySession
{
    public static final String QUERY_MAX_MEMORY = "query_max_memory";
    public static final String QUERY_MAX_MEMORY_PER_NODE = "query_max_memory_per_node";
    public static final String QUERY_MAX_TOTAL_MEMORY = "query_max_total_memory";
    public static final String QUERY_MAX_TOTAL_MEMORY_PER_NODE = "query_max_total_memory_per_node";
    public static final String RESOURCE_OVERCOMMIT = "resource_overcommit";
    private static final Set<String> PROPERTIES = Set.of(QUERY_MAX_MEMORY, QUERY_MAX_MEMORY_PER_NODE, QUERY_MAX_TOTAL_MEMORY, QUERY_MAX_TOTAL_MEMORY_PER_NODE, RESOURCE_OVERCOMMIT);

    private final String user;
    private final RetryPolicy retryPolicy;
    private final int priority;
    private final OptionalLong maxMemory;
    private final OptionalLong maxMemoryPerNode;
    private final OptionalLong maxTotalMemory;
    private final OptionalLong maxTotalMemoryPerNode;
    private final boolean resourceOvercommit;

    private QuerySession(String user, RetryPolicy retryPolicy, int priority, Map<String, String> properties)
    {
        this.user = requireNonNull(user, "user is null");
        this.retryPolicy = requireNonNull(retryPolicy, "retryPolicy is null");
        this.priority = priority;
        for (String key : properties.keySet()) {
            if (!PROPERTIES.contains(key)) {
                throw new ConfigurationException(String.format("Unknown session property '%s' (value '%s'). Accepted: %s", key, properties.get(key), new TreeSet<>(PROPERTIES)));
            }
        }
        PolicyConfig values = PolicyConfig.of("", properties);
        try {
            maxMemory = size(values, QUERY_MAX_MEMORY);
            maxMemoryPerNode = size(values, QUERY_MAX_MEMORY_PER_NODE);
            maxTotalMemory = size(values, QUERY_MAX_TOTAL_MEMORY);
            maxTotalMemoryPerNode = size(values, QUERY_MAX_TOTAL_MEMORY_PER_NODE);
            resourceOvercommit = values.bool(RESOURCE_OVERCOMMIT, false);
        }
        catch (PolicyConfigException e) {
            throw new ConfigurationException(e.getMessage(), e);
        }
    }

    private static OptionalLong size(PolicyConfig values, String key)
    {
        return values.contains(key) ? OptionalLong.of(values.size(key, 0)) : OptionalLong.empty();
    }

    /** A session with defaults: no overrides, retry policy NONE, priority 0. */
    public static QuerySession of(String user)
    {
        return builder(user).build();
    }

    public static Builder builder(String user)
    {
        return new Builder(user);
    }

    public String user()
    {
        return user;
    }

    public RetryPolicy retryPolicy()
    {
        return retryPolicy;
    }

    public int priority()
    {
        return priority;
    }

    public OptionalLong maxMemory()
    {
        return maxMemory;
    }

    public OptionalLong maxMemoryPerNode()
    {
        return maxMemoryPerNode;
    }

    public OptionalLong maxTotalMemory()
    {
        return maxTotalMemory;
    }

    public OptionalLong maxTotalMemoryPerNode()
    {
        return maxTotalMemoryPerNode;
    }

    public boolean resourceOvercommit()
    {
        return resourceOvercommit;
    }

    /** The lower of the configured limit and the session's, if it set one. */
    public static final class Builder
    {
        private final String user;
        private RetryPolicy retryPolicy = RetryPolicy.NONE;
        private int priority;
        private final Map<String, String> properties = new HashMap<>();

        private Builder(String user)
        {
            this.user = requireNonNull(user, "user is null");
        }

        public Builder retryPolicy(RetryPolicy retryPolicy)
        {
            this.retryPolicy = requireNonNull(retryPolicy, "retryPolicy is null");
            return this;
        }

        public Builder priority(int priority)
        {
            this.priority = priority;
            return this;
        }

        /** Sets a session property such as {@code query_max_memory_per_node=1GB}; checked by {@link #build()}. */
        public Builder property(String name, String value)
        {
            properties.put(requireNonNull(name, "name is null"), requireNonNull(value, "value is null"));
            return this;
        }

        public QuerySession build()
        {
            return new QuerySession(user, retryPolicy, priority, properties);
        }
    }
}
