package io.memgov.spi.cluster;

import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * What the coordinator role carries from one round to the next, and from one coordinator to the next when the role
 * moves: the victims of the last kill (nothing else is killed while they still hold memory), when the cluster ran out
 * of memory (for the kill delay), and the pool assignment in force. Immutable.
 *
 * @param killedQueries the queries of the last kill, while they may still hold memory; never null
 * @param killedTasks the tasks of the last kill, while they may still hold memory; never null
 * @param killedAt when the last kill was sent; null if there is none
 * @param outOfMemorySince since when the cluster is out of memory; null while it is not
 * @param assignment the pool assignment in force; never null
 * @since 1.0
 */
public record CoordinatorState(Set<QueryId> killedQueries, Set<TaskId> killedTasks, Instant killedAt, Instant outOfMemorySince, MemoryPoolAssignment assignment)
{
    public CoordinatorState
    {
        killedQueries = Set.copyOf(requireNonNull(killedQueries, "killedQueries is null"));
        killedTasks = Set.copyOf(requireNonNull(killedTasks, "killedTasks is null"));
        requireNonNull(assignment, "assignment is null");
        if ((killedAt == null) != (killedQueries.isEmpty() && killedTasks.isEmpty())) {
            throw new IllegalArgumentException("killedAt must be set exactly when there are victims: " + killedAt + ", " + killedQueries + ", " + killedTasks);
        }
    }

    /** A coordinator that has not killed anything, in a cluster with memory to spare. */
    public static CoordinatorState initial()
    {
        return new CoordinatorState(Set.of(), Set.of(), null, null, MemoryPoolAssignment.initial());
    }

    public Optional<Instant> lastKill()
    {
        return Optional.ofNullable(killedAt);
    }

    public Optional<Instant> outOfMemory()
    {
        return Optional.ofNullable(outOfMemorySince);
    }
}
