package io.memgov.engine.internal.node;

import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.WeakReference;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * The accounting state of a query on one node, shared by its {@link QueryContext} views: the node's own view
 * (which the node and this state hold strongly) and the host's handle (held here only weakly, watched by the
 * {@link ContextCleaner}). Enforces the query's per-node limits, carries its deltas through the tracker into the pool,
 * and releases everything when closed, killed or collected. Tasks and operators call it directly, never through a view.
 *
 * <p>Every reservation path is lock-free: a limit is checked by adding first and undoing on failure, so two tasks
 * of the query racing for the last bytes cannot both pass.
 */
final class QueryContextState
{
    // the public class's logger: hosts configure and read the query's log lines under that name
    private static final Logger log = LoggerFactory.getLogger(QueryMemoryContext.class);
    // how many tasks the WARN line of a collected query names; the rest are counted
    private static final int LOGGED_TASKS = 5;

    private final NodeMemoryManager node;
    private final QueryId queryId;
    private final QuerySession session;
    private volatile MemoryPool pool;
    // taken shared by every pool call of the query and exclusively by a move, so that no reservation lands in the pool
    // the query is leaving; null when the node has a single pool and the query can never move (no cost then)
    private final ReentrantReadWriteLock poolLock;
    // futures handed to callers blocked while the query can move: a move completes them, since the pool they wait on
    // is no longer the query's
    private final Set<MemoryFuture> blockedFutures = ConcurrentHashMap.newKeySet();
    private final MemoryTracker tracker;
    // the built-in tracker's query level when it has no limit: it reads userBytes + systemBytes instead of counting the
    // same bytes again, and each call carries the delta straight to its user level; null for any other tracker
    private final ExactMemoryTracker countedTracker;
    private final long maxUserBytes;
    private final long maxTotalBytes;
    private final Instant startTime;
    private final AtomicLong userBytes = new AtomicLong();
    private final AtomicLong systemBytes = new AtomicLong();
    private final AtomicLong revocableBytes = new AtomicLong();
    private final AtomicLong peakTotalBytes = new AtomicLong();
    private final Map<TaskId, TaskContext> tasks = new ConcurrentHashMap<>();
    private final AtomicReference<QueryKilledException> failure = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    // the view the node lists and tasks' own views return; it holds this state, never the host's handle
    final QueryContext view;
    // the host's handle once the node handed one out; null until then
    private volatile WeakReference<QueryContext> hostHandle;
    // what contexts collected together with the query reported by their own actions before the query's action ran
    // (the cleaner runs the actions of one collection in no set order): the query's one WARN line covers them too;
    // created on the first such report, guarded by this
    private Map<TaskId, Set<String>> collectedTags;
    private long collectedBytes;

    QueryContextState(NodeMemoryManager node, QueryId queryId, QuerySession session, MemoryPool pool, MemoryTracker tracker, long maxUserBytes, long maxTotalBytes, Instant startTime,
            QueryContext view)
    {
        this.view = requireNonNull(view, "view is null");
        this.node = requireNonNull(node, "node is null");
        this.queryId = requireNonNull(queryId, "queryId is null");
        this.session = requireNonNull(session, "session is null");
        this.pool = requireNonNull(pool, "pool is null");
        this.poolLock = node.pools().size() > 1 ? new ReentrantReadWriteLock() : null;
        this.tracker = requireNonNull(tracker, "tracker is null");
        if (tracker instanceof ExactMemoryTracker exact && exact.level() == TrackerLevel.QUERY && exact.hardLimitBytes() == 0) {
            exact.countedBy(() -> userBytes.get() + systemBytes.get());
            this.countedTracker = exact;
        }
        else {
            this.countedTracker = null;
        }
        this.maxUserBytes = maxUserBytes;
        this.maxTotalBytes = maxTotalBytes;
        this.startTime = requireNonNull(startTime, "startTime is null");
    }

    QueryId queryId()
    {
        return queryId;
    }

    QuerySession session()
    {
        return session;
    }

    NodeMemoryManager node()
    {
        return node;
    }

    Instant startTime()
    {
        return startTime;
    }

    /** The per-node user memory limit in force for this query (configuration lowered by the session). */
    long maxUserBytes()
    {
        return maxUserBytes;
    }

    /** The per-node user+system limit, or {@link Long#MAX_VALUE} when none is configured. */
    long maxTotalBytes()
    {
        return maxTotalBytes;
    }

    synchronized void attachHostHandle(QueryContext handle)
    {
        if (hostHandle != null) {
            throw new IllegalStateException("query " + queryId + " already has a host handle on node " + node.nodeId());
        }
        hostHandle = new WeakReference<>(handle);
    }

    /**
     * The query handle new tasks' host handles hold, so that a live task keeps its query's handle alive: the host's
     * handle when there is one, else the node's view.
     *
     * @throws IllegalStateException if the host's handle was collected (the query is being released)
     */
    QueryContext taskParent()
    {
        WeakReference<QueryContext> reference = hostHandle;
        if (reference == null) {
            return view;
        }
        QueryContext handle = reference.get();
        if (handle == null) {
            throw new IllegalStateException("query memory context " + queryId + " is already closed on node " + node.nodeId() + ": it was garbage-collected");
        }
        return handle;
    }

    /**
     * True once the host's handle is unreachable: the cleaner's action for the query will run (or ran), and releases
     * and reports every task still open, so a task collected with it leaves that to the query's action.
     */
    boolean isHostHandleCollected()
    {
        WeakReference<QueryContext> reference = hostHandle;
        return reference != null && reference.get() == null;
    }

    /**
     * Notes a context of this query that its own cleaner action released and reported, if the query's host handle was
     * collected too: the query's action then names it in its WARN line, without reporting its bytes again.
     *
     * @param tag the operator's tag, or null for a task
     */
    void contextCollected(TaskId taskId, String tag, long bytes)
    {
        if (!isHostHandleCollected()) {
            // collected alone: the query goes on, and its own release (if ever) is another story
            return;
        }
        synchronized (this) {
            if (collectedTags == null) {
                collectedTags = new TreeMap<>();
            }
            Set<String> tags = collectedTags.computeIfAbsent(taskId, ignored -> new TreeSet<>());
            if (tag != null) {
                tags.add(tag);
            }
            collectedBytes += Math.max(bytes, 0);
        }
    }

    /**
     * Adds a task of this query on this node.
     *
     * @throws IllegalArgumentException if the task belongs to another query or already exists
     */
    TaskContext addTask(TaskId taskId, boolean speculative)
    {
        requireNonNull(taskId, "taskId is null");
        if (!taskId.queryId().equals(queryId)) {
            throw new IllegalArgumentException("task " + taskId + " does not belong to query " + queryId);
        }
        checkOpen();
        checkNotFailed();
        // before the task is registered: a query being collected refuses it without leaving it in the map
        QueryContext parent = taskParent();
        TaskContext task = new TaskContext(this, taskId, speculative, node.clock().instant(), System.nanoTime());
        if (tasks.putIfAbsent(taskId, task) != null) {
            throw new IllegalArgumentException("task " + taskId + " already exists on node " + node.nodeId());
        }
        // the query keeps its own view; the host's handle is watched by the cleaner and keeps the query's handle alive
        return task.hostHandle(parent);
    }

    List<TaskContext> tasks()
    {
        return List.copyOf(tasks.values());
    }

    long userBytes()
    {
        return userBytes.get();
    }

    long systemBytes()
    {
        return systemBytes.get();
    }

    long revocableBytes()
    {
        return revocableBytes.get();
    }

    /** The most user + system + revocable bytes the query held at once on this node. */
    long peakBytes()
    {
        return peakTotalBytes.get();
    }

    MemoryTracker tracker()
    {
        return tracker;
    }

    // the operator checked its task and this query just before (OperatorState.Local.checkUsable): not again here
    MemoryFuture reserve(PoolSlot slot, MemoryKind kind, long delta)
    {
        if (kind == MemoryKind.REVOCABLE) {
            // revocable memory has no per-node limit on the worker (Trino): it can always be taken back
            MemoryFuture future = reserveInPool(slot, true, delta);
            revocableBytes.addAndGet(delta);
            updatePeak();
            return future;
        }
        AtomicLong counter = claimWithinLimits(kind, delta, true);
        try {
            trackerAllocate(delta);
        }
        catch (RuntimeException e) {
            counter.addAndGet(-delta);
            throw e;
        }
        try {
            MemoryFuture future = reserveInPool(slot, false, delta);
            updatePeak();
            return future;
        }
        catch (RuntimeException e) {
            trackerFree(delta);
            counter.addAndGet(-delta);
            throw e;
        }
    }

    boolean tryReserve(PoolSlot slot, MemoryKind kind, long delta)
    {
        if (kind == MemoryKind.REVOCABLE) {
            // Trino's revocable root has no try path; memgov offers one: refuse only if the pool would over-commit
            if (!tryReserveInPool(slot, true, delta)) {
                return false;
            }
            revocableBytes.addAndGet(delta);
            updatePeak();
            return true;
        }
        AtomicLong counter = claimWithinLimits(kind, delta, false);
        if (counter == null) {
            return false;
        }
        try {
            trackerAllocate(delta);
        }
        catch (MemoryLimitExceededException e) {
            counter.addAndGet(-delta);
            return false;
        }
        boolean reserved;
        try {
            reserved = tryReserveInPool(slot, false, delta);
        }
        catch (RuntimeException e) {
            trackerFree(delta);
            counter.addAndGet(-delta);
            throw e;
        }
        if (!reserved) {
            trackerFree(delta);
            counter.addAndGet(-delta);
            return false;
        }
        updatePeak();
        return true;
    }

    /**
     * Adds {@code delta} to the user or system counter if the per-node limits still hold, adding first and undoing on
     * failure so that two tasks racing for the last bytes cannot both pass.
     *
     * @return the counter added to, or null if a limit refused and {@code orThrow} is false
     * @throws MemoryLimitExceededException if a limit refused and {@code orThrow} is true
     */
    private AtomicLong claimWithinLimits(MemoryKind kind, long delta, boolean orThrow)
    {
        AtomicLong counter = kind == MemoryKind.USER ? userBytes : systemBytes;
        long held = counter.addAndGet(delta);
        if (kind == MemoryKind.USER && held > maxUserBytes) {
            counter.addAndGet(-delta);
            if (orThrow) {
                throw exceeded("per-node memory limit", maxUserBytes, held - delta, delta);
            }
            return null;
        }
        if (maxTotalBytes != Long.MAX_VALUE) {
            long total = userBytes.get() + systemBytes.get();
            if (total > maxTotalBytes) {
                counter.addAndGet(-delta);
                if (orThrow) {
                    throw exceeded("per-node total memory limit", maxTotalBytes, total - delta, delta);
                }
                return null;
            }
        }
        return counter;
    }

    void release(PoolSlot slot, MemoryKind kind, long bytes)
    {
        if (kind == MemoryKind.REVOCABLE) {
            freeInPool(slot, true, bytes);
            revocableBytes.addAndGet(-bytes);
            return;
        }
        freeInPool(slot, false, bytes);
        trackerFree(bytes);
        (kind == MemoryKind.USER ? userBytes : systemBytes).addAndGet(-bytes);
    }

    private void trackerAllocate(long delta)
    {
        if (countedTracker != null) {
            countedTracker.allocateCounted(delta, userBytes.get() + systemBytes.get());
        }
        else {
            tracker.allocate(delta);
        }
    }

    private void trackerFree(long bytes)
    {
        if (countedTracker != null) {
            countedTracker.freeCounted(bytes);
        }
        else {
            tracker.free(bytes);
        }
    }

    /** The pool the query reserves in on this node now: the node's general pool unless an assignment moved it. */
    MemoryPool pool()
    {
        return pool;
    }

    // revocable memory is kept per task only: the pools have no tags for it
    private MemoryFuture reserveInPool(PoolSlot slot, boolean revocable, long delta)
    {
        if (poolLock == null) {
            return reserveIn(pool, slot, revocable, delta);
        }
        poolLock.readLock().lock();
        try {
            MemoryFuture future = reserveIn(pool, slot, revocable, delta);
            if (future.isDone()) {
                return future;
            }
            // registered under the shared lock, so a move either sees this future or happens after the caller got it
            MemoryFuture blocked = MemoryFuture.pending();
            blockedFutures.add(blocked);
            future.thenRun(blocked::signal);
            blocked.thenRun(() -> blockedFutures.remove(blocked));
            return blocked;
        }
        finally {
            poolLock.readLock().unlock();
        }
    }

    private boolean tryReserveInPool(PoolSlot slot, boolean revocable, long delta)
    {
        if (poolLock == null) {
            return tryReserveIn(pool, slot, revocable, delta);
        }
        poolLock.readLock().lock();
        try {
            return tryReserveIn(pool, slot, revocable, delta);
        }
        finally {
            poolLock.readLock().unlock();
        }
    }

    private void freeInPool(PoolSlot slot, boolean revocable, long bytes)
    {
        if (poolLock == null) {
            freeIn(pool, slot, revocable, bytes);
            return;
        }
        poolLock.readLock().lock();
        try {
            freeIn(pool, slot, revocable, bytes);
        }
        finally {
            poolLock.readLock().unlock();
        }
    }

    // the fixed pool's cells when the slot has them (no map look-up), the SPI calls for any other pool
    private static MemoryFuture reserveIn(MemoryPool pool, PoolSlot slot, boolean revocable, long delta)
    {
        FixedMemoryPool.Handle handle = slot.handle(pool);
        if (handle != null) {
            return revocable ? handle.reserveRevocable(delta) : handle.reserve(delta);
        }
        return revocable ? pool.reserveRevocable(slot.taskId(), delta) : pool.reserve(slot.taskId(), slot.tag(), delta);
    }

    private static boolean tryReserveIn(MemoryPool pool, PoolSlot slot, boolean revocable, long delta)
    {
        FixedMemoryPool.Handle handle = slot.handle(pool);
        if (handle != null) {
            return revocable ? handle.tryReserveRevocable(delta) : handle.tryReserve(delta);
        }
        return revocable ? pool.tryReserveRevocable(slot.taskId(), delta) : pool.tryReserve(slot.taskId(), slot.tag(), delta);
    }

    private static void freeIn(MemoryPool pool, PoolSlot slot, boolean revocable, long bytes)
    {
        FixedMemoryPool.Handle handle = slot.handle(pool);
        if (handle != null) {
            if (revocable) {
                handle.freeRevocable(bytes);
            }
            else {
                handle.free(bytes);
            }
        }
        else if (revocable) {
            pool.freeRevocable(slot.taskId(), bytes);
        }
        else {
            pool.free(slot.taskId(), slot.tag(), bytes);
        }
    }

    /**
     * Moves everything the query holds on this node to {@code target}, keeping its bytes per task and per tag, then
     * wakes its blocked callers once {@code target} has room (Presto's {@code QueryContext.setMemoryPool}). Waits
     * for the query's in-flight reservations; reservations made meanwhile by other queries are unaffected. Called by
     * the node when an assignment places the query in another pool. If a pool refuses, nothing moved.
     *
     * @throws IllegalStateException if the node has a single pool
     */
    void moveTo(MemoryPool target)
    {
        requireNonNull(target, "target is null");
        if (poolLock == null) {
            throw new IllegalStateException("query " + queryId + " cannot move: node " + node.nodeId() + " has a single pool");
        }
        MemoryPool source;
        MemoryFuture targetFuture;
        List<MemoryFuture> toWake;
        poolLock.writeLock().lock();
        try {
            source = pool;
            if (source == target) {
                return;
            }
            targetFuture = QueryPoolTransfer.transfer(queryId, source, target);
            pool = target;
            toWake = List.copyOf(blockedFutures);
            blockedFutures.removeAll(toWake);
        }
        finally {
            poolLock.writeLock().unlock();
        }
        source.forgetQuery(queryId);
        // the callers blocked on the old pool; when the new one is full too they wait for it, not for the old one
        targetFuture.thenRun(() -> toWake.forEach(MemoryFuture::signal));
    }

    private void updatePeak()
    {
        long total = userBytes.get() + systemBytes.get() + revocableBytes.get();
        long peak = peakTotalBytes.get();
        while (total > peak && !peakTotalBytes.compareAndSet(peak, total)) {
            peak = peakTotalBytes.get();
        }
    }

    private MemoryLimitExceededException exceeded(String limitName, long limit, long allocated, long delta)
    {
        StringBuilder details = new StringBuilder()
                .append("Allocated: ").append(succinct(allocated))
                .append(", Delta: ").append(succinct(delta));
        Map<String, Long> consumers = topConsumers(3);
        if (!consumers.isEmpty()) {
            details.append(", Top Consumers: ").append(consumers.entrySet().stream()
                    .map(entry -> entry.getKey() + "=" + succinct(entry.getValue()))
                    .collect(Collectors.joining(", ", "{", "}")));
        }
        return new MemoryLimitExceededException(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT,
                String.format("Query exceeded %s of %s [%s]", limitName, succinct(limit), details));
    }

    /** The query's largest user-memory holders on this node by tag, largest first. */
    Map<String, Long> topConsumers(int limit)
    {
        Map<String, Long> byTag = new HashMap<>();
        for (TaskContext task : tasks.values()) {
            for (OperatorContext operator : task.operatorContexts()) {
                long bytes = operator.userMemory().reservedBytes();
                if (bytes > 0) {
                    byTag.merge(operator.tag(), bytes, Long::sum);
                }
            }
        }
        return byTag.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
                .limit(limit)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, java.util.LinkedHashMap::new));
    }

    /** Throws the reason the query was killed, if it was. */
    void checkNotFailed()
    {
        QueryKilledException killed = failure.get();
        if (killed != null) {
            throw new QueryKilledException(killed.errorCode(), killed.getMessage());
        }
    }

    /** Why the query was killed on this node, if it was. */
    java.util.Optional<QueryKilledException> failure()
    {
        return java.util.Optional.ofNullable(failure.get());
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
        for (TaskContext task : tasks.values()) {
            task.forceRelease();
        }
        return true;
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
        for (TaskContext task : tasks.values()) {
            taskSnapshots.add(task.state().snapshot(nowNanos));
        }
        QueryKilledException killed = failure.get();
        return new QuerySnapshot(queryId, session.user(), session.retryPolicy(), session.priority(), session.resourceOvercommit(),
                session.maxMemory().orElse(Long.MAX_VALUE), session.maxTotalMemory().orElse(Long.MAX_VALUE),
                startTime, state, endTime,
                killed == null ? null : killed.errorCode(), killed == null ? null : killed.getMessage(),
                Math.max(0, userBytes.get()), Math.max(0, systemBytes.get()), Math.max(0, revocableBytes.get()), taskSnapshots);
    }

    void taskClosed(TaskContext task)
    {
        tasks.remove(task.taskId(), task);
    }

    private void checkOpen()
    {
        if (closed.get()) {
            throw new IllegalStateException("query memory context " + queryId + " is already closed on node " + node.nodeId());
        }
    }

    /**
     * Closes every task, releasing everything the query holds on this node. Idempotent.
     *
     * @return true if this call closed the query
     */
    boolean close()
    {
        return close(null);
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
        for (TaskContext task : tasks.values()) {
            task.close();
        }
        tracker.close();
        if (finalState != null) {
            // recorded before the query leaves the node's running queries, so that a snapshot never misses it
            node.queryEnded(snapshot(finalState, node.clock().instant(), System.nanoTime()));
        }
        node.queryClosed(view);
        return true;
    }

    /**
     * The cleaner's action for the host's handle: if the query was not closed (killed is not closed), closes it as
     * {@link #close()} would and reports what its still-open tasks held. Those tasks' and operators' handles are gone
     * too (each held the query's handle, directly or through its task): a task whose own action runs after this one
     * finds itself closed, and one whose action runs first leaves the release to this one; an operator whose own
     * action ran first reported itself. So each byte is reported to the leak detector once, while the WARN line
     * names everything released with the query, including what those operators reported. Never throws (the cleaner
     * thread would swallow it).
     */
    void collected()
    {
        try {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            long released = 0;
            // by task id, so that the line is the same whatever order the map iterates in
            Map<TaskId, Set<String>> tagsByTask = new TreeMap<>();
            for (TaskContext task : tasks.values()) {
                Set<String> tags = new TreeSet<>();
                long bytes = task.closeCollected(tags);
                if (bytes >= 0) {
                    released += bytes;
                    tagsByTask.put(task.taskId(), tags);
                }
            }
            tracker.close();
            node.queryClosed(view);
            long releasedBefore;
            synchronized (this) {
                releasedBefore = collectedBytes;
                if (collectedTags != null) {
                    collectedTags.forEach((taskId, tags) -> tagsByTask.computeIfAbsent(taskId, ignored -> new TreeSet<>()).addAll(tags));
                }
            }
            QueryKilledException killed = failure.get();
            log.warn("Query context {} on node {} was garbage-collected without close(){}; released {}{}{}",
                    queryId,
                    node.nodeId(),
                    killed == null ? "" : " after it was killed (" + killed.errorCode() + ")",
                    succinct(released + releasedBefore),
                    describeTasks(tagsByTask),
                    releasedBefore == 0 ? "" : " (" + succinct(releasedBefore) + " of it already reported by its contexts collected with it)");
            // the detector already got what those contexts reported: only the rest, so that each byte is counted once
            node.queryContextCollected(queryId, released);
        }
        catch (RuntimeException | Error e) {
            log.error("Releasing garbage-collected query context {} on node {} failed", queryId, node.nodeId(), e);
        }
    }

    // " held by its tasks q.0 [Exchange, HashAggregation], q.1 []": the first few tasks only, so the line stays bounded
    private static String describeTasks(Map<TaskId, Set<String>> tagsByTask)
    {
        if (tagsByTask.isEmpty()) {
            return "";
        }
        List<String> named = new ArrayList<>(LOGGED_TASKS);
        for (Map.Entry<TaskId, Set<String>> entry : tagsByTask.entrySet()) {
            if (named.size() == LOGGED_TASKS) {
                break;
            }
            named.add(entry.getKey() + " " + entry.getValue());
        }
        int more = tagsByTask.size() - named.size();
        return " held by its tasks " + String.join(", ", named) + (more > 0 ? " and " + more + " more" : "");
    }

    @Override
    public String toString()
    {
        return "QueryContext{" + queryId + "@" + node.nodeId() + ", user=" + userBytes + ", system=" + systemBytes + ", revocable=" + revocableBytes + "}";
    }
}
