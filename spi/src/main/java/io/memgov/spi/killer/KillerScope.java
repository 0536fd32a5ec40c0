package io.memgov.spi.killer;

/**
 * Whether a killer is selected as the task killer ({@code task.low-memory-killer.policy}, run first) or the query
 * killer ({@code query.low-memory-killer.policy}). A name is unique within a scope; {@code none} exists in both.
 *
 * @since 1.0
 */
public enum KillerScope
{
    QUERY,
    TASK,
}
