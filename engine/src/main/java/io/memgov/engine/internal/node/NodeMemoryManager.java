package io.memgov.engine.internal.node;

import io.memgov.engine.NodeMemory;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.ReservationQuantum;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

import static java.util.Objects.requireNonNull;

/**
 * One node's accounting: its pools, its tracker tree and the queries running on it. Hosts create a
 * {@link QueryContext} per query on each node it runs on; the contexts enforce per-node limits and feed the pool.
 * A query starts in the general pool (the layout's first) unless the cluster loop's latest
 * {@link #applyAssignment assignment} places it elsewhere. Thread-safe.
 *
 * <p>Operator, task and query contexts the host lets become unreachable without closing them are released by a
 * cleaner and reported to this node's leak detector ({@link MemoryLeakDetector#contextCollected}), if it has one. The
 * node itself holds only its views of its queries ({@link #queries()}), which do not keep the host's handles alive.
 */
public final class NodeMemoryManager
        implements NodeMemory
{
    private static final Logger log = LoggerFactory.getLogger(NodeMemory.class);
    /** How long a node remembers a query whose end its host reported. */
    public static final Duration ENDED_QUERY_RETENTION = Duration.ofMinutes(15);

    private final NodeState state;
    private final MemoryPool pool;
    private final MemoryTracker rootTracker;
    private final long maxQueryMemoryPerNode;
    private final long maxQueryTotalMemoryPerNode;
    // Presto's per-node revocable limit; Long.MAX_VALUE for none (Trino)
    private volatile long maxQueryRevocableMemoryPerNode = Long.MAX_VALUE;
    // Presto's per-node broadcast limit; Long.MAX_VALUE for none (Trino)
    private volatile long maxQueryBroadcastMemory = Long.MAX_VALUE;
    // 0 when exact, else the largest quantum a context of this node reserves in
    private final long reservationQuantum;
    private final AtomicLong snapshotSequence = new AtomicLong();
    // guards applying assignments against creating queries, so that a new query never misses the assignment in force
    private final Object assignmentLock = new Object();
    private volatile MemoryPoolAssignment assignment = MemoryPoolAssignment.initial();

    public NodeMemoryManager(NodeId nodeId, MemoryPool pool, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode)
    {
        this(nodeId, MemoryPoolLayout.of(pool), rootTracker, clock, maxQueryMemoryPerNode, maxQueryTotalMemoryPerNode);
    }

    public NodeMemoryManager(NodeId nodeId, MemoryPoolLayout layout, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode)
    {
        this(nodeId, layout, rootTracker, clock, maxQueryMemoryPerNode, maxQueryTotalMemoryPerNode, null);
    }

    /**
     * @param leakDetector told about every operator, task and query context of this node that was garbage-collected without
     *        {@code close()}; null for none (the contexts are still released and logged)
     */
    public NodeMemoryManager(NodeId nodeId, MemoryPoolLayout layout, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode,
            MemoryLeakDetector leakDetector)
    {
        this(nodeId, layout, rootTracker, clock, maxQueryMemoryPerNode, maxQueryTotalMemoryPerNode, leakDetector, 0);
    }

    /**
     * @param reservationQuantum granularity, in bytes, of each local memory context's reservation
     *        ({@code memory.reservation-quantum}); 0 carries every change up as it is made
     */
    public NodeMemoryManager(NodeId nodeId, MemoryPoolLayout layout, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode,
            MemoryLeakDetector leakDetector, long reservationQuantum)
    {
        this(nodeId, layout, rootTracker, clock, maxQueryMemoryPerNode, maxQueryTotalMemoryPerNode, leakDetector, ReservationQuantum.fixed(reservationQuantum));
    }

    /**
     * @param reservationQuantum how each local memory context reserves ({@code memory.reservation-quantum}); an
     *        adaptive quantum is capped by a share of the general pool's maximum now
     */
    public NodeMemoryManager(NodeId nodeId, MemoryPoolLayout layout, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode,
            MemoryLeakDetector leakDetector, ReservationQuantum reservationQuantum)
    {
        this(nodeId, layout, rootTracker, clock, maxQueryMemoryPerNode, maxQueryTotalMemoryPerNode, leakDetector,
                QuantumSizes.of(requireNonNull(reservationQuantum, "reservationQuantum is null"), layout.generalPool().maxBytes()));
    }

    private NodeMemoryManager(NodeId nodeId, MemoryPoolLayout layout, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode,
            MemoryLeakDetector leakDetector, QuantumSizes quanta)
    {
        this(nodeId, layout, rootTracker, clock, maxQueryMemoryPerNode, maxQueryTotalMemoryPerNode, leakDetector, quanta == null ? 0 : quanta.largest(), localMemories(quanta));
    }

    /**
     * @param reservationQuantum what {@link #reservationQuantum()} reports
     * @param localMemories wraps each new exact local memory of this node; tests put their own wrappers in here
     */
    NodeMemoryManager(NodeId nodeId, MemoryPoolLayout layout, MemoryTracker rootTracker, Clock clock, long maxQueryMemoryPerNode, long maxQueryTotalMemoryPerNode,
            MemoryLeakDetector leakDetector, long reservationQuantum, UnaryOperator<LocalMemory> localMemories)
    {
        this.reservationQuantum = reservationQuantum;
        this.state = new NodeState(nodeId, clock, layout, rootTracker, localMemories, leakDetector, ENDED_QUERY_RETENTION);
        this.pool = layout.generalPool();
        this.rootTracker = requireNonNull(rootTracker, "rootTracker is null");
        this.maxQueryMemoryPerNode = maxQueryMemoryPerNode;
        this.maxQueryTotalMemoryPerNode = maxQueryTotalMemoryPerNode;
    }

    // the wiring of memory.reservation-quantum: exact contexts (null), or each behind the quantum's decorator
    private static UnaryOperator<LocalMemory> localMemories(QuantumSizes quanta)
    {
        if (quanta == null) {
            return UnaryOperator.identity();
        }
        return exact -> new QuantizedLocalMemory(exact, quanta);
    }

    public NodeId nodeId()
    {
        return state.nodeId;
    }

    @Override
    public long reservationQuantum()
    {
        return reservationQuantum;
    }

    /** The general pool: the first of the layout, where queries start. */
    public MemoryPool pool()
    {
        return pool;
    }

    /** Every heap pool of the node (its layout), the general one first; the direct pool is {@link #directPool()}. */
    public List<MemoryPool> pools()
    {
        return state.layout.pools();
    }

    /** The pool with this id, if the node has one. */
    public Optional<MemoryPool> pool(String poolId)
    {
        return state.layout.pool(poolId);
    }

    /** The version of the last assignment this node applied; 0 before the first. */
    public long assignmentVersion()
    {
        return assignment.version();
    }

    /** The last assignment this node applied. */
    public MemoryPoolAssignment assignment()
    {
        return assignment;
    }

    /**
     * Applies an assignment from the cluster loop: every query on this node moves to the pool the assignment places
     * it in (the general pool when it is not listed), keeping its per-task and per-tag reservations, and its blocked
     * callers are woken. A version not newer than the one applied last is stale and ignored, so a late delivery never
     * undoes a newer decision. Queries created later start where the assignment places them.
     *
     * @return true if applied, false if ignored as stale
     * @throws IllegalArgumentException if the assignment names a pool this node does not have; nothing moved
     */
    public boolean applyAssignment(MemoryPoolAssignment next)
    {
        requireNonNull(next, "next is null");
        MemoryPoolLayout layout = state.layout;
        synchronized (assignmentLock) {
            MemoryPoolAssignment applied = assignment;
            if (next.version() <= applied.version()) {
                log.debug("Node {} ignores memory pool assignment version {}: it already applied version {}", state.nodeId, next.version(), applied.version());
                return false;
            }
            for (String poolId : new TreeSet<>(next.placements().values())) {
                if (layout.pool(poolId).isEmpty()) {
                    throw new IllegalArgumentException(String.format("Memory pool assignment version %s places queries in pool '%s', which node %s does not have. Pools: %s",
                            next.version(), poolId, state.nodeId, layout.pools().stream().map(MemoryPool::id).toList()));
                }
            }
            // a move that fails leaves the version unapplied: the loop delivers it again and moves already done are no-ops
            for (QueryContextState query : state.queries()) {
                MemoryPool target = layout.pool(next.poolOf(query.queryId(), pool.id())).orElseThrow();
                if (query.pool() != target) {
                    log.info("Node {} moves query {} from pool '{}' to pool '{}' (assignment version {})", state.nodeId, query.queryId(), query.pool().id(), target.id(), next.version());
                    query.moveTo(target);
                }
            }
            assignment = next;
            return true;
        }
    }

    /**
     * Sets Presto's per-node revocable limit ({@code query.max-revocable-memory-per-node}) for queries created from now
     * on; called once, at wiring.
     *
     * @param bytes positive, or {@link Long#MAX_VALUE} for none
     */
    public void setMaxQueryRevocableMemoryPerNode(long bytes)
    {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes is not positive: " + bytes);
        }
        maxQueryRevocableMemoryPerNode = bytes;
    }

    /**
     * Sets Presto's per-node broadcast limit ({@code query.max-broadcast-memory}) for queries created from now on;
     * called once, at wiring.
     *
     * @param bytes positive, or {@link Long#MAX_VALUE} for none
     */
    public void setMaxQueryBroadcastMemory(long bytes)
    {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes is not positive: " + bytes);
        }
        maxQueryBroadcastMemory = bytes;
    }

    /**
     * Gives this node a direct pool ({@code node.direct-memory-size}): from now on every operator's
     * {@link io.memgov.engine.OperatorMemoryContext#directMemory() direct memory} reserves there, against
     * {@code maxQueryDirectBytes} per query, instead of counting as user memory in the heap pools. Called once, at
     * wiring, before the first query.
     *
     * @param directPool the pool, of any id not in the layout; its snapshots show it with kind {@link MemoryPoolKind#DIRECT}
     * @param maxQueryDirectBytes {@code query.max-direct-memory-per-node}: positive, or {@link Long#MAX_VALUE} for none
     * @throws IllegalStateException if the node already has a direct pool or runs a query
     * @throws IllegalArgumentException if the pool's id is a layout pool's, or the limit is not positive
     */
    public void setDirectPool(MemoryPool directPool, long maxQueryDirectBytes)
    {
        requireNonNull(directPool, "directPool is null");
        if (maxQueryDirectBytes <= 0) {
            throw new IllegalArgumentException("maxQueryDirectBytes is not positive: " + maxQueryDirectBytes);
        }
        if (state.layout.pool(directPool.id()).isPresent()) {
            throw new IllegalArgumentException("node " + state.nodeId + " already has a heap pool '" + directPool.id() + "': the direct pool needs another id");
        }
        state.setDirectPool(new NodeState.DirectPool(directPool, maxQueryDirectBytes));
    }

    @Override
    public Optional<MemoryPool> directPool()
    {
        NodeState.DirectPool direct = state.directPool();
        return direct == null ? Optional.empty() : Optional.of(direct.pool());
    }

    /** Sets who is told when a reservation here blocks (the node's arbitration); called once, at wiring. */
    public void onBlockedReservation(BlockedReservationListener listener)
    {
        state.onBlockedReservation(listener);
    }

    /**
     * Gives back every reservation on this node beyond what its contexts use (the reservation quantum's slack):
     * arbitration's reclaim step. Without a quantum nothing is reserved ahead and this returns 0.
     *
     * @return the bytes given back to the pools
     */
    public long trimReservations()
    {
        long trimmed = 0;
        for (QueryContextState query : state.queries()) {
            trimmed += query.trimReservations();
        }
        return trimmed;
    }

    /** Bytes the query holds reserved on this node beyond what its contexts use; 0 if it does not run here. */
    public long unusedReservationBytes(QueryId queryId)
    {
        QueryContextState query = state.query(queryId);
        return query == null ? 0 : query.unusedReservationBytes();
    }

    public MemoryTracker rootTracker()
    {
        return rootTracker;
    }

    /**
     * Starts accounting for a query on this node. Per-node limits are the configured ones, lowered by the session;
     * {@code resource_overcommit} lets the query use the whole pool, and queries with {@code retry_policy=TASK} have
     * no per-node limit (only the pool and the killers apply), as in Trino.
     *
     * @return the host's handle of the query: if it becomes unreachable without {@code close()} (with every task and
     *         operator handle of the query), the query is released and reported; see {@link QueryContext}
     * @throws IllegalArgumentException if the query already has a context on this node
     */
    public QueryContext createQuery(QueryId queryId, QuerySession session)
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(session, "session is null");
        state.checkEngineOpen();
        long maxUser;
        long maxTotal;
        NodeState.DirectPool direct = state.directPool();
        // the direct limit follows the heap's rules: none with task retries, the whole pool with resource_overcommit
        long maxDirect = direct == null ? Long.MAX_VALUE : direct.maxQueryBytes();
        if (session.retryPolicy() == RetryPolicy.TASK) {
            maxUser = Long.MAX_VALUE;
            maxTotal = Long.MAX_VALUE;
            maxDirect = Long.MAX_VALUE;
        }
        else if (session.resourceOvercommit()) {
            maxUser = Math.max(pool.maxBytes(), lower(maxQueryMemoryPerNode, session.maxMemoryPerNode()));
            maxTotal = Long.MAX_VALUE;
            maxDirect = Long.MAX_VALUE;
        }
        else {
            maxUser = lower(maxQueryMemoryPerNode, session.maxMemoryPerNode());
            maxTotal = lower(maxQueryTotalMemoryPerNode, session.maxTotalMemoryPerNode());
        }
        MemoryTracker queryTracker = state.newQueryTracker(session.user(), queryId);
        QueryContext handle;
        synchronized (assignmentLock) {
            // queries are added only here, under this lock: checked before any handle exists, since a handle dropped
            // on a collision would have its cleaner release the query of the same id that is already here
            if (state.hasQuery(queryId)) {
                queryTracker.close();
                state.userQueryEnded(session.user());
                throw new IllegalArgumentException("query " + queryId + " already has a memory context on node " + state.nodeId);
            }
            MemoryPool initial = state.layout.pool(assignment.poolOf(queryId, pool.id())).orElse(pool);
            QueryContextState query = new QueryContextState(state, queryId, session, initial, queryTracker, maxUser, maxTotal, maxQueryRevocableMemoryPerNode,
                    maxQueryBroadcastMemory, maxDirect, state.clock.instant());
            // the handle exists before the query is listed, so that a task added through a view holds the handle
            handle = QueryContext.hostHandle(query, this);
            state.queryCreated(query);
        }
        return handle;
    }

    /**
     * Called by the engine's close: from now on every change of this node's memory contexts, and every new query, task
     * or operator, fails with an {@link IllegalStateException} saying the engine is closed. What the open queries hold
     * is released now (as a kill releases it), so that a context reserving in quanta has no reservation left to change
     * without that check. Closing the contexts afterwards works as before. Idempotent.
     */
    public void engineClosed()
    {
        state.engineClosed();
        for (QueryContextState query : state.queries()) {
            query.forceRelease();
        }
    }

    /** The node's view of the query, if it runs here: it does not keep the host's handle reachable. */
    public Optional<QueryMemoryContext> query(QueryId queryId)
    {
        return Optional.ofNullable(queryContext(queryId).orElse(null));
    }

    /** {@link #query(QueryId)}, as the engine's own type. */
    public Optional<QueryContext> queryContext(QueryId queryId)
    {
        QueryContextState query = state.query(queryId);
        return query == null ? Optional.empty() : Optional.of(QueryContext.view(query, this));
    }

    /** The node's views of the queries running here: they do not keep the host's handles reachable. */
    public List<QueryMemoryContext> queries()
    {
        return List.copyOf(queryContexts());
    }

    /** {@link #queries()}, as the engine's own type. */
    public List<QueryContext> queryContexts()
    {
        return state.queries().stream().map(query -> QueryContext.view(query, this)).toList();
    }

    /**
     * Fails the query on this node, releasing what it holds. The first failure is kept.
     *
     * @return true if the query ran here and was failed by this call
     */
    public boolean failQuery(QueryId queryId, ErrorCode errorCode, String message)
    {
        QueryContextState query = state.query(queryId);
        return query != null && query.fail(errorCode, message);
    }

    /**
     * Fails one task on this node, releasing what it holds. The first failure is kept.
     *
     * @return true if the task ran here and was failed by this call
     */
    public boolean failTask(TaskId taskId, ErrorCode errorCode, String message)
    {
        QueryContextState query = state.query(taskId.queryId());
        if (query == null) {
            return false;
        }
        return query.tasks().stream()
                .filter(task -> task.taskId.equals(taskId))
                .findFirst()
                .map(task -> task.fail(errorCode, message))
                .orElse(false);
    }

    /**
     * Everything the cluster loop reads of this node: its pools, its queries (running, failed, and recently ended) and
     * the assignment it applied. Every query the pools show is listed, also one that starts or ends meanwhile, or the
     * leak check would take it for one the host does not know: the running queries are read before and after the
     * pools, the ended ones last, and a query is listed before it reserves and recorded as ended before it leaves.
     */
    public NodeSnapshot snapshot()
    {
        long nowNanos = System.nanoTime();
        Map<QueryId, QuerySnapshot> listed = new LinkedHashMap<>();
        for (QueryContextState query : state.queries()) {
            // a query being closed is listed until it leaves, so that one closing with a final state is never missed
            listed.put(query.queryId(), query.snapshot(QueryState.RUNNING, null, nowNanos));
        }
        List<MemoryPoolInfo> pools = poolInfos();
        // the queries that started while the pools were read, and may hold memory in them
        for (QueryContextState query : state.queries()) {
            listed.computeIfAbsent(query.queryId(), ignored -> query.snapshot(QueryState.RUNNING, null, nowNanos));
        }
        // an ended query overrides its running entry: the end was reported while the snapshot was being taken
        listed.putAll(state.endedQueries());
        return new NodeSnapshot(state.nodeId, snapshotSequence.incrementAndGet(), state.clock.instant(), pools, assignment.version(), List.copyOf(listed.values()),
                state.blockedReservations().arbitrating());
    }

    /** The node's snapshot for the cluster loop and {@code /v1/memory}. */
    public NodeMemoryInfo info()
    {
        return new NodeMemoryInfo(state.nodeId, poolInfos());
    }

    // the layout's pools, then the direct pool, marked as such whatever its implementation reports
    private List<MemoryPoolInfo> poolInfos()
    {
        NodeState.DirectPool direct = state.directPool();
        List<MemoryPoolInfo> infos = new ArrayList<>(state.layout.pools().size() + 1);
        for (MemoryPool each : state.layout.pools()) {
            infos.add(each.info());
        }
        if (direct != null) {
            infos.add(direct.pool().info().withKind(MemoryPoolKind.DIRECT));
        }
        return infos;
    }

    @Override
    public String toString()
    {
        NodeState.DirectPool direct = state.directPool();
        return "NodeMemoryManager{" + state.nodeId + ", " + state.layout.pools() + (direct == null ? "" : ", direct " + direct.pool()) + "}";
    }

    // a session may only lower a configured limit, as in Trino
    private static long lower(long configured, OptionalLong session)
    {
        return session.isPresent() ? Math.min(configured, session.getAsLong()) : configured;
    }
}
