package io.memgov.engine.internal.node;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.memgov.engine.NodeMemory;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

import static java.util.Objects.requireNonNull;

/**
 * What the accounting states of one node share: the node's identity, clock and pools, the wiring of its local memory
 * contexts, its running queries, the queries whose end was reported, its users' trackers, and where contexts collected
 * without {@code close()} are reported. The node's handle ({@code NodeMemoryManager}) holds it; the query, task and
 * operator states hold it instead of the handle.
 */
final class NodeState
{
    private static final Logger log = LoggerFactory.getLogger(NodeMemory.class);

    final NodeId nodeId;
    final Clock clock;
    final MemoryPoolLayout layout;
    private final MemoryTracker rootTracker;
    // wraps every new exact local memory: the identity, or the reservation quantum's decorator; chosen once, at wiring
    private final UnaryOperator<LocalMemory> localMemories;
    private final Map<QueryId, QueryContextState> queries = new ConcurrentHashMap<>();
    // a user's tracker lives while the user has queries here, as ClickHouse resets it when the user's last query ends
    private final Map<String, UserTracker> userTrackers = new ConcurrentHashMap<>();
    // queries whose host reported their end here, kept for the cluster loop's leak check (Trino keeps ended queries a
    // while for the same purpose); bounded, so a host that ends queries faster than they expire cannot grow it
    private final Cache<QueryId, QuerySnapshot> endedQueries;
    // told about contexts collected without close(); null when the node has none
    private final MemoryLeakDetector leakDetector;
    // orders the growths of the node's operators for the revoking scheduler's latest grower (OperatorState)
    final AtomicLong growthSequence = new AtomicLong();
    // the node's arbitration, set once at wiring
    private volatile BlockedReservationListener blockedReservations = BlockedReservationListener.NONE;
    // set once by the engine's close: every change and every new context fails from then on
    private volatile boolean engineClosed;
    // the node's direct pool and the per-query limit in it, set once at wiring before any query; null when direct
    // memory is counted in the heap pools
    private volatile DirectPool directPool;

    /** The node's direct pool and {@code query.max-direct-memory-per-node}. */
    record DirectPool(MemoryPool pool, long maxQueryBytes)
    {
        DirectPool
        {
            requireNonNull(pool, "pool is null");
        }
    }

    NodeState(NodeId nodeId, Clock clock, MemoryPoolLayout layout, MemoryTracker rootTracker, UnaryOperator<LocalMemory> localMemories,
            MemoryLeakDetector leakDetector, Duration endedQueryRetention)
    {
        this.nodeId = requireNonNull(nodeId, "nodeId is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.layout = requireNonNull(layout, "layout is null");
        this.rootTracker = requireNonNull(rootTracker, "rootTracker is null");
        this.localMemories = requireNonNull(localMemories, "localMemories is null");
        this.leakDetector = leakDetector;
        this.endedQueries = Caffeine.newBuilder()
                .expireAfterWrite(endedQueryRetention)
                .maximumSize(100_000)
                .build();
    }

    void setDirectPool(DirectPool direct)
    {
        if (!queries.isEmpty()) {
            throw new IllegalStateException("node " + nodeId + " already runs queries: its direct pool is set at wiring, before the first query");
        }
        if (directPool != null) {
            throw new IllegalStateException("node " + nodeId + " already has a direct pool: " + directPool.pool());
        }
        directPool = requireNonNull(direct, "direct is null");
    }

    /** The node's direct pool, or null when direct memory is counted in the heap pools. */
    DirectPool directPool()
    {
        return directPool;
    }

    void onBlockedReservation(BlockedReservationListener listener)
    {
        blockedReservations = requireNonNull(listener, "listener is null");
    }

    BlockedReservationListener blockedReservations()
    {
        return blockedReservations;
    }

    /** The engine was closed: from now on {@link #checkEngineOpen()} fails. */
    void engineClosed()
    {
        engineClosed = true;
    }

    /** Fails once the engine is closed: its pools are governed no more, so a context must not reserve in them. */
    void checkEngineOpen()
    {
        if (engineClosed) {
            throw new IllegalStateException("The memory engine is closed: node " + nodeId + " takes no more reservations or contexts; only close() works");
        }
    }

    /** A new local memory as this node's configuration wants it: exact, or reserving in quanta. */
    LocalMemory localMemory(ExactLocalMemory exact)
    {
        return localMemories.apply(exact);
    }

    /** True when a query may move between pools: only then does it pay for the lock that guards a move. */
    boolean hasSeveralPools()
    {
        return layout.pools().size() > 1;
    }

    QueryContextState query(QueryId queryId)
    {
        return queries.get(queryId);
    }

    boolean hasQuery(QueryId queryId)
    {
        return queries.containsKey(queryId);
    }

    List<QueryContextState> queries()
    {
        return List.copyOf(queries.values());
    }

    /** Lists a new query; the caller checked, under its assignment lock, that none of the same id is listed. */
    void queryCreated(QueryContextState query)
    {
        queries.put(query.queryId(), query);
        endedQueries.invalidate(query.queryId());
    }

    /** The tracker of a new query of {@code user}: a child of the user's tracker, which it creates or keeps alive. */
    MemoryTracker newQueryTracker(String user, QueryId queryId)
    {
        MemoryTracker userTracker = userTrackers.compute(user, (name, held) -> held == null
                ? new UserTracker(rootTracker.newChild(TrackerLevel.USER, name, 0), 1)
                : new UserTracker(held.tracker(), held.queries() + 1)).tracker();
        return userTracker.newChild(TrackerLevel.QUERY, queryId.toString(), 0);
    }

    // the user's last query here closes the user's tracker: what it still holds stays accounted at the node
    void userQueryEnded(String user)
    {
        userTrackers.computeIfPresent(user, (name, held) -> {
            if (held.queries() > 1) {
                return new UserTracker(held.tracker(), held.queries() - 1);
            }
            held.tracker().close();
            return null;
        });
    }

    private record UserTracker(MemoryTracker tracker, int queries) {}

    // a newer query of the same id is a different state and stays
    void queryClosed(QueryContextState query)
    {
        if (queries.remove(query.queryId(), query)) {
            userQueryEnded(query.session().user());
        }
        for (MemoryPool each : layout.pools()) {
            each.forgetQuery(query.queryId());
        }
        DirectPool direct = directPool;
        if (direct != null) {
            direct.pool().forgetQuery(query.queryId());
        }
    }

    /** Records a query whose host reported its end here; called by the query's close, before it leaves the node. */
    void queryEnded(QuerySnapshot ended)
    {
        endedQueries.put(ended.queryId(), ended);
    }

    Map<QueryId, QuerySnapshot> endedQueries()
    {
        return endedQueries.asMap();
    }

    /**
     * Reports a context the cleaner released (called on the cleaner's thread). A detector that throws is logged: the
     * release already happened and the cleaner thread must go on.
     *
     * @param tag the operator's tag, or null for a task context
     */
    void contextCollected(TaskId taskId, String tag, long bytes)
    {
        QueryContextState query = queries.get(taskId.queryId());
        if (query != null) {
            // if the query's handle went with it, the query's own line names this context too
            query.contextCollected(taskId, tag, bytes);
        }
        report(taskId.queryId(), taskId, tag, bytes);
    }

    /**
     * Reports a query context the cleaner released (called on the cleaner's thread), with a null task and tag.
     *
     * @param bytes what the query and its tasks and operators still held and did not report themselves
     */
    void queryContextCollected(QueryId queryId, long bytes)
    {
        report(queryId, null, null, bytes);
    }

    private void report(QueryId queryId, TaskId taskId, String tag, long bytes)
    {
        if (leakDetector == null) {
            return;
        }
        try {
            leakDetector.contextCollected(queryId, taskId, tag, bytes);
        }
        catch (Throwable e) {
            // an Error included: this runs on the cleaner's thread, which must go on for every other context
            String context = taskId == null ? queryId + " (query)" : taskId + " " + (tag == null ? "(task)" : tag);
            log.warn("Leak detector {} failed on the collected context {} of node {}", leakDetector, context, nodeId, e);
        }
    }
}
