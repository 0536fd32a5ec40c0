package io.memgov.plugin.reservedpool;

import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Presto's promotion rule ({@code ClusterMemoryManager.updateAssignments}): when GENERAL is blocked on some node and no
 * query is assigned to RESERVED, the largest query by cluster-wide reservation that did not ask for
 * {@code resource_overcommit} moves to RESERVED on every node. Only one query is in RESERVED at a time, and it stays
 * there until it ends. The engine asks only after every node applied the previous decision. With
 * {@link PromotionRule#RESERVED_EMPTY} RESERVED must also hold no bytes on any node (a query that ended there and has
 * not released everything yet still occupies it), which Presto does not wait for.
 *
 * <p>Out of memory, for the killers, means RESERVED is occupied (by the same rule) and GENERAL is still blocked
 * somewhere: while RESERVED is free the cure is a promotion, not a kill. The killers see GENERAL only, so the promoted
 * query, which is guaranteed to finish, is never their victim.
 */
final class ReservedPoolAssigner
        implements MemoryPoolAssigner
{
    /** When RESERVED counts as free for the next promotion ({@code promote-when}). */
    enum PromotionRule
    {
        /** Presto's: no running query is assigned to RESERVED. */
        NO_QUERY_ASSIGNED,
        /** Stricter: no query is assigned and RESERVED holds no bytes on any node. */
        RESERVED_EMPTY
    }

    private final String generalPoolId;
    private final String reservedPoolId;
    private final PromotionRule rule;

    ReservedPoolAssigner(String generalPoolId, String reservedPoolId)
    {
        this(generalPoolId, reservedPoolId, PromotionRule.NO_QUERY_ASSIGNED);
    }

    ReservedPoolAssigner(String generalPoolId, String reservedPoolId, PromotionRule rule)
    {
        this.generalPoolId = requireNonNull(generalPoolId, "generalPoolId is null");
        this.reservedPoolId = requireNonNull(reservedPoolId, "reservedPoolId is null");
        this.rule = requireNonNull(rule, "rule is null");
    }

    @Override
    public Map<QueryId, String> assign(List<NodeMemoryInfo> nodes, List<RunningQueryInfo> runningQueries, MemoryPoolAssignment current)
    {
        if (!isGeneralBlocked(nodes) || reservedHoldsQuery(nodes, current)) {
            return current.placements();
        }
        Optional<RunningQueryInfo> largest = runningQueries.stream()
                .filter(query -> !query.resourceOvercommit())
                .filter(query -> query.totalReservationBytes() > 0)
                .filter(query -> current.poolOf(query.queryId(), generalPoolId).equals(generalPoolId))
                // ties go to the smaller id, so the choice does not depend on the order the queries were listed in
                .max(Comparator.comparingLong(RunningQueryInfo::totalReservationBytes)
                        .thenComparing(RunningQueryInfo::queryId, Comparator.reverseOrder()));
        if (largest.isEmpty()) {
            return current.placements();
        }
        Map<QueryId, String> next = new HashMap<>(current.placements());
        next.put(largest.get().queryId(), reservedPoolId);
        return next;
    }

    /**
     * Presto's rule for the heap pools: out of memory when RESERVED holds a query and some GENERAL pool is blocked.
     * A node's direct pool ({@code node.direct-memory-size}) has no RESERVED to move a query into, so a blocked one
     * is out of memory at once, as without this assigner.
     */
    @Override
    public boolean isOutOfMemory(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current)
    {
        return (reservedHoldsQuery(nodes, current) && isGeneralBlocked(nodes)) || isDirectBlocked(nodes);
    }

    private static boolean isDirectBlocked(List<NodeMemoryInfo> nodes)
    {
        return nodes.stream().anyMatch(node -> node.directPool().map(MemoryPoolInfo::isBlocked).orElse(false));
    }

    @Override
    public boolean isVisibleToKillers(String poolId)
    {
        return generalPoolId.equals(poolId);
    }

    private boolean isGeneralBlocked(List<NodeMemoryInfo> nodes)
    {
        return nodes.stream().anyMatch(node -> node.pool(generalPoolId).map(MemoryPoolInfo::isBlocked).orElse(false));
    }

    /**
     * A running query is assigned to RESERVED, or, under {@link PromotionRule#RESERVED_EMPTY}, some node's RESERVED
     * still holds memory (a query that ended there and has not released everything yet).
     */
    private boolean reservedHoldsQuery(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current)
    {
        if (current.assignedQueries(reservedPoolId) > 0) {
            return true;
        }
        return rule == PromotionRule.RESERVED_EMPTY && nodes.stream()
                .flatMap(node -> node.pool(reservedPoolId).stream())
                .anyMatch(pool -> pool.reservedBytes() > 0 || pool.reservedRevocableBytes() > 0);
    }

    @Override
    public String toString()
    {
        return ReservedPoolFactory.NAME;
    }
}
