package io.memgov.engine.internal.node;

import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * The accounting state of a query on one node, shared by its handle and its views ({@code QueryContext}): its tasks'
 * states, its failure, its snapshot and its close. Its memory is charged to its {@link QueryAccount}; what the cleaner
 * does when the host's handle is collected is in {@link ContextReclamation}.
 */
final class QueryContextState
{
    // the public type's logger: hosts configure and read the query's log lines under that name
    private static final Logger log = LoggerFactory.getLogger(QueryMemoryContext.class);
    /** The task, in the pool, of a query's own memory: the pools keep per-task figures. */
    static final String LOCAL_TASK = "query-local";
    /** The tag a query's own memory has in the pool. */
    static final String LOCAL_TAG = "(query-local)";
    // how many tags a limit message names
    private static final int LIMIT_MESSAGE_CONSUMERS = 3;

    private final NodeState node;
    private final QueryId queryId;
    private final QuerySession session;
    private final Instant startTime;
    private final QueryLimits limits;
    private final QueryAccount account;
    private final ContextReclamation reclamation = new ContextReclamation(this);
    private final Map<TaskId, TaskState> tasks = new ConcurrentHashMap<>();
    private final AtomicReference<QueryKilledException> failure = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    final HostHandleLink hostHandle = new HostHandleLink();
    private final CumulativeMemory cumulativeMemory;
    // what the query holds that no task owns: system memory, counted here and above, at no task
    final LocalMemory localMemory;

    /**
     * @param maxBroadcastBytes Presto's per-node broadcast limit, or {@link Long#MAX_VALUE} for none
     * @param maxDirectBytes the per-node direct limit, or {@link Long#MAX_VALUE} for none; unused without a direct pool
     */
    QueryContextState(NodeState node, QueryId queryId, QuerySession session, MemoryPool pool, MemoryTracker tracker, long maxUserBytes, long maxTotalBytes,
            long maxRevocableBytes, long maxBroadcastBytes, long maxDirectBytes, Instant startTime)
    {
        this.node = requireNonNull(node, "node is null");
        this.queryId = requireNonNull(queryId, "queryId is null");
        this.session = requireNonNull(session, "session is null");
        this.startTime = requireNonNull(startTime, "startTime is null");
        this.cumulativeMemory = new CumulativeMemory(System.nanoTime());
        this.limits = new QueryLimits("query " + queryId + " on node " + node.nodeId, maxUserBytes, maxTotalBytes, maxRevocableBytes,
                maxBroadcastBytes, () -> topConsumers(LIMIT_MESSAGE_CONSUMERS));
        QueryDirectLimit directLimit = node.directPool() == null ? null
                : new QueryDirectLimit("query " + queryId + " on node " + node.nodeId, maxDirectBytes, () -> topDirectConsumers(LIMIT_MESSAGE_CONSUMERS));
        this.account = new QueryAccount(queryId, node, limits, tracker, new QueryPoolRouting(queryId, node.nodeId, pool, node.hasSeveralPools()), directLimit);
        this.localMemory = node.localMemory(ExactLocalMemory.ofQuery(this, MemoryKind.SYSTEM, new PoolSlot(TaskId.of(queryId, LOCAL_TASK), LOCAL_TAG)));
    }

    QueryId queryId()
    {
        return queryId;
    }

    QuerySession session()
    {
        return session;
    }

    NodeState node()
    {
        return node;
    }

    Instant startTime()
    {
        return startTime;
    }

    long maxUserBytes()
    {
        return limits.maxUserBytes();
    }

    long maxTotalBytes()
    {
        return limits.maxTotalBytes();
    }

    long userBytes()
    {
        return limits.userBytes();
    }

    long systemBytes()
    {
        return limits.systemBytes();
    }

    long revocableBytes()
    {
        return limits.revocableBytes();
    }

    /** Presto's cumulative memory of the query on this node, as of its last sample. */
    CumulativeMemory cumulativeMemory()
    {
        return cumulativeMemory;
    }

    /** User bytes of the query's broadcast operators on this node: what {@code query.max-broadcast-memory} limits. */
    long broadcastBytes()
    {
        return limits.broadcastBytes();
    }

    /** Direct bytes the query holds in the node's direct pool; 0 when the node has none. */
    long directBytes()
    {
        QueryDirectLimit direct = account.directLimit();
        return direct == null ? 0 : direct.bytes();
    }

    /** Revocable direct bytes the query holds in the node's direct pool; 0 when the node has none. */
    long directRevocableBytes()
    {
        QueryDirectLimit direct = account.directLimit();
        return direct == null ? 0 : direct.revocableBytes();
    }

    /** The per-node direct limit in force; {@link Long#MAX_VALUE} when the node has no direct pool or no limit. */
    long maxDirectBytes()
    {
        QueryDirectLimit direct = account.directLimit();
        return direct == null ? Long.MAX_VALUE : direct.maxBytes();
    }

    /** The most user + system + revocable bytes the query held at once on this node. */
    long peakBytes()
    {
        return limits.peakBytes();
    }

    MemoryTracker tracker()
    {
        return account.tracker();
    }

    /** Where the query's memory is charged: its limits, its tracker and its pool. */
    QueryAccount account()
    {
        return account;
    }

    MemoryPool pool()
    {
        return account.routing().pool();
    }

    void moveTo(MemoryPool target)
    {
        account.routing().moveTo(target);
    }

    /** A client fetched results: the query's pool now hears of it (a pool's idle clock); nothing once closed. */
    void resultsFetched()
    {
        if (closed.get()) {
            return;
        }
        MemoryPool current = account.routing().pool();
        try {
            current.queryResultsFetched(queryId);
        }
        catch (RuntimeException e) {
            // a pool's bookkeeping must not fail the host's fetch
            log.warn("Pool '{}' failed on the results fetched of query {} on node {}", current.id(), queryId, node.nodeId, e);
        }
    }

    /**
     * Adds a task of this query on this node; the caller gives it a handle.
     *
     * @throws IllegalArgumentException if the task belongs to another query or already exists
     * @throws IllegalStateException if the query is closed
     */
    TaskState addTask(TaskId taskId, boolean speculative)
    {
        checkTaskAddable(taskId);
        TaskState task = new TaskState(this, taskId, speculative, node.clock.instant(), System.nanoTime());
        if (tasks.putIfAbsent(taskId, task) != null) {
            throw new IllegalArgumentException("task " + taskId + " already exists on node " + node.nodeId);
        }
        return task;
    }

    /** The checks of {@link #addTask}, for a caller that must make them before it looks anything else up. */
    void checkTaskAddable(TaskId taskId)
    {
        requireNonNull(taskId, "taskId is null");
        if (!taskId.queryId().equals(queryId)) {
            throw new IllegalArgumentException("task " + taskId + " does not belong to query " + queryId);
        }
        checkOpen();
        node.checkEngineOpen();
        checkNotFailed();
    }

    List<TaskState> tasks()
    {
        return List.copyOf(tasks.values());
    }

    void taskClosed(TaskState task)
    {
        tasks.remove(task.taskId, task);
    }

    /**
     * The query's largest holders of user and system memory on this node by tag, largest first: what Presto's tagged
     * allocations show (a task's or the query's own memory under its own tag), so a query holding only system memory
     * still names its consumers.
     */
    Map<String, Long> topConsumers(int limit)
    {
        Map<String, Long> byTag = new HashMap<>();
        addConsumer(byTag, LOCAL_TAG, localMemory.reservedBytes());
        for (TaskState task : tasks.values()) {
            addConsumer(byTag, TaskState.LOCAL_TAG, task.localMemory.reservedBytes());
            for (OperatorState operator : task.operators()) {
                // without a direct pool an operator's direct memory is user memory and counts here
                long direct = node.directPool() == null ? operator.direct.reservedBytes() : 0;
                addConsumer(byTag, operator.tag, operator.user.reservedBytes() + operator.system.reservedBytes() + direct);
            }
        }
        return byTag.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
                .limit(limit)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
    }

    /** The query's largest holders of direct memory on this node by tag, largest first. */
    Map<String, Long> topDirectConsumers(int limit)
    {
        Map<String, Long> byTag = new HashMap<>();
        for (TaskState task : tasks.values()) {
            for (OperatorState operator : task.operators()) {
                addConsumer(byTag, operator.tag, operator.direct.reservedBytes());
            }
        }
        return byTag.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
                .limit(limit)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
    }

    private static void addConsumer(Map<String, Long> byTag, String tag, long bytes)
    {
        if (bytes > 0) {
            byTag.merge(tag, bytes, Long::sum);
        }
    }

    /** Throws the reason the query was killed, if it was. */
    /** Gives back every reservation of the query on this node beyond its bytes (arbitration's reclaim step). */
    long trimReservations()
    {
        long trimmed = localMemory.trimReservation();
        for (TaskState task : tasks()) {
            trimmed += task.trimReservations();
        }
        return trimmed;
    }

    /** Bytes the query holds reserved on this node beyond what its contexts use: what {@link #trimReservations} frees. */
    long unusedReservationBytes()
    {
        long unused = OperatorState.unused(localMemory);
        for (TaskState task : tasks()) {
            unused += task.unusedReservationBytes();
        }
        return unused;
    }

    void checkNotFailed()
    {
        QueryKilledException killed = failure.get();
        if (killed != null) {
            throw new QueryKilledException(killed.errorCode(), killed.getMessage());
        }
    }

    Optional<QueryKilledException> failure()
    {
        return Optional.ofNullable(failure.get());
    }

    /**
     * Fails the query on this node: later accounting calls throw with {@code errorCode}, and everything it holds is
     * released now. The first failure is kept.
     *
     * @return true if this call failed the query, false if it had already failed
     */
    boolean fail(ErrorCode errorCode, String message)
    {
        if (!failure.compareAndSet(null, new QueryKilledException(errorCode, message))) {
            return false;
        }
        forceRelease();
        return true;
    }

    /** Drops what the query holds without the checks of a normal call: it was killed, or the engine closed. */
    void forceRelease()
    {
        for (TaskState task : tasks.values()) {
            task.forceRelease();
        }
        localMemory.forceRelease();
    }

    boolean isClosed()
    {
        return closed.get();
    }

    /**
     * The query as its node's snapshot shows it.
     *
     * @param state {@code RUNNING}, or the final state the host reported
     * @param endTime null while running
     */
    QuerySnapshot snapshot(QueryState state, Instant endTime, long nowNanos)
    {
        List<TaskSnapshot> taskSnapshots = new ArrayList<>(tasks.size());
        for (TaskState task : tasks.values()) {
            taskSnapshots.add(task.snapshot(nowNanos));
        }
        QueryKilledException killed = failure.get();
        long user = Math.max(0, limits.userBytes());
        long system = Math.max(0, limits.systemBytes());
        CumulativeMemory.ByteSeconds cumulative = cumulativeMemory.sample(nowNanos, user, user + system);
        return new QuerySnapshot(queryId, session.user(), session.retryPolicy(), session.priority(), session.resourceOvercommit(),
                session.maxMemory().orElse(Long.MAX_VALUE), session.maxTotalMemory().orElse(Long.MAX_VALUE),
                startTime, state, endTime,
                killed == null ? null : killed.errorCode(), killed == null ? null : killed.getMessage(),
                user, system, Math.max(0, limits.revocableBytes()), taskSnapshots,
                cumulative.user(), cumulative.total());
    }

    private void sampleCumulativeMemory(long nowNanos)
    {
        long user = Math.max(0, limits.userBytes());
        cumulativeMemory.sample(nowNanos, user, user + Math.max(0, limits.systemBytes()));
    }

    private void checkOpen()
    {
        if (closed.get()) {
            throw new IllegalStateException("query memory context " + queryId + " is already closed on node " + node.nodeId);
        }
    }

    /**
     * Closes every task, releasing everything the query holds on this node, and, with a final state, records the
     * query's end for the cluster loop. Idempotent.
     *
     * @param finalState {@code FINISHED} or {@code FAILED} when the host reports the query's end; null when only this
     *        node's part of the query is done
     * @return true if this call closed the query
     */
    boolean close(QueryState finalState)
    {
        if (finalState == QueryState.RUNNING) {
            throw new IllegalArgumentException("a query cannot be closed as RUNNING: " + queryId);
        }
        if (!closed.compareAndSet(false, true)) {
            return false;
        }
        // the last period counts what the query held until now, not the nothing it holds once closed
        sampleCumulativeMemory(System.nanoTime());
        for (TaskState task : tasks.values()) {
            task.close();
        }
        localMemory.close();
        account.tracker().close();
        if (finalState != null) {
            // recorded before the query leaves the node's running queries, so that a snapshot never misses it
            node.queryEnded(snapshot(finalState, node.clock.instant(), System.nanoTime()));
        }
        node.queryClosed(this);
        return true;
    }

    /**
     * Closes the query as {@link #close(QueryState)} would with no final state, for the cleaner's action, naming in
     * {@code tagsByTask} each task it closed with the tags of the operators that task closed, and the query's own
     * memory, as the pool shows it, if it held bytes.
     *
     * @return the bytes released, or -1 if the query was already closed
     */
    long closeCollected(Map<TaskId, Set<String>> tagsByTask)
    {
        if (!closed.compareAndSet(false, true)) {
            return -1;
        }
        sampleCumulativeMemory(System.nanoTime());
        long released = 0;
        for (TaskState task : tasks.values()) {
            Set<String> tags = new TreeSet<>();
            long bytes = task.closeCollected(tags);
            if (bytes >= 0) {
                released += bytes;
                tagsByTask.put(task.taskId, tags);
            }
        }
        long own = localMemory.close();
        if (own > 0) {
            released += own;
            tagsByTask.put(TaskId.of(queryId, LOCAL_TASK), new TreeSet<>(Set.of(LOCAL_TAG)));
        }
        account.tracker().close();
        node.queryClosed(this);
        return released;
    }

    /** The cleaner's action for the host's handle: see {@link ContextReclamation#queryCollected}. */
    void collected()
    {
        reclamation.queryCollected();
    }

    /** See {@link ContextReclamation#contextCollected}. */
    void contextCollected(TaskId taskId, String tag, long bytes)
    {
        reclamation.contextCollected(taskId, tag, bytes);
    }

    @Override
    public String toString()
    {
        QueryDirectLimit direct = account.directLimit();
        return "QueryContext{" + queryId + "@" + node.nodeId + ", " + limits + (direct == null ? "" : ", " + direct) + "}";
    }
}
