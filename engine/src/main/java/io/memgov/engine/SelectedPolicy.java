package io.memgov.engine;

import static java.util.Objects.requireNonNull;

/**
 * A policy the engine created, with the name configuration selected it by and where it came from, so that log lines,
 * JMX and snapshots name it ({@code threshold}) rather than its class.
 *
 * @param name the registered name, or {@code none} for a family's built-in fallback
 * @param origin e.g. {@code SpillPlugin from class path (...)}, or {@code built-in fallback}
 * @param policy the product, wrapped for its plugin's class loader when it has one of its own
 */
public record SelectedPolicy<P>(String name, String origin, P policy)
{
    public SelectedPolicy
    {
        requireNonNull(name, "name is null");
        requireNonNull(origin, "origin is null");
        requireNonNull(policy, "policy is null");
    }

    @Override
    public String toString()
    {
        return name;
    }
}
