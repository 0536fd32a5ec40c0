package io.memgov.engine.node;

import io.memgov.engine.pool.FixedMemoryPool;
import io.memgov.engine.tracker.ExactMemoryTracker;
import io.memgov.spi.ErrorCode;
import io.memgov.spi.MemoryLimitExceededException;
import io.memgov.spi.QueryId;
import io.memgov.spi.QueryKilledException;
import io.memgov.spi.TaskId;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;

import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;

import static io.memgov.spi.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * A query on one node: enforces its per-node limits, carries its deltas through the tracker into the pool, and
 * releases everything when closed or killed.
 *
 * <p>Every reservation path is lock-free: a limit is checked by adding first and undoing on failure, so two tasks
 * of the query racing for the last bytes cannot both pass.
 */
public final class QueryMemoryContext
        implements AutoCloseable
{
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
    private final Map<TaskId, TaskMemoryContext> tasks = new ConcurrentHashMap<>();
    private final AtomicReference<QueryKilledException> failure = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    QueryMemoryContext(NodeMemoryManager node, QueryId queryId, QuerySession session, MemoryPool pool, MemoryTracker tracker, long maxUserBytes, long maxTotalBytes, Instant startTime)
    {
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

    public QueryId queryId()
    {
        return queryId;
    }

    public QuerySession session()
    {
        return session;
    }

    public NodeMemoryManager node()
    {
        return node;
    }

    public Instant startTime()
    {
        return startTime;
    }

    /** The per-node user memory limit in force for this query (configuration lowered by the session). */
    public long maxUserBytes()
    {
        return maxUserBytes;
    }

    /** The per-node user+system limit, or {@link Long#MAX_VALUE} when none is configured. */
    public long maxTotalBytes()
    {
        return maxTotalBytes;
    }

    /** Adds a task of this query on this node. */
    public TaskMemoryContext addTask(String localId)
    {
        return addTask(TaskId.of(queryId, localId), false);
    }

    /**
     * Adds a task of this query on this node.
     *
     * @param speculative true for optional work that task killers should prefer
     * @throws IllegalArgumentException if the task belongs to another query or already exists
     */
    public TaskMemoryContext addTask(TaskId taskId, boolean speculative)
    {
        requireNonNull(taskId, "taskId is null");
        if (!taskId.queryId().equals(queryId)) {
            throw new IllegalArgumentException("task " + taskId + " does not belong to query " + queryId);
        }
        checkOpen();
        checkNotFailed();
        TaskMemoryContext task = new TaskMemoryContext(this, taskId, speculative, node.clock().instant(), System.nanoTime());
        if (tasks.putIfAbsent(taskId, task) != null) {
            throw new IllegalArgumentException("task " + taskId + " already exists on node " + node.nodeId());
        }
        // the query keeps its own view; the host's handle is watched by the cleaner
        return task.hostHandle();
    }

    public List<TaskMemoryContext> tasks()
    {
        return List.copyOf(tasks.values());
    }

    public long userBytes()
    {
        return userBytes.get();
    }

    public long systemBytes()
    {
        return systemBytes.get();
    }

    public long revocableBytes()
    {
        return revocableBytes.get();
    }

    /** The most user + system + revocable bytes the query held at once on this node. */
    public long peakBytes()
    {
        return peakTotalBytes.get();
    }

    public MemoryTracker tracker()
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
        AtomicLong counter = kind == MemoryKind.USER ? userBytes : systemBytes;
        long held = counter.addAndGet(delta);
        if (kind == MemoryKind.USER && held > maxUserBytes) {
            counter.addAndGet(-delta);
            throw exceeded("per-node memory limit", maxUserBytes, held - delta, delta);
        }
        if (maxTotalBytes != Long.MAX_VALUE) {
            long total = userBytes.get() + systemBytes.get();
            if (total > maxTotalBytes) {
                counter.addAndGet(-delta);
                throw exceeded("per-node total memory limit", maxTotalBytes, total - delta, delta);
            }
        }
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
        AtomicLong counter = kind == MemoryKind.USER ? userBytes : systemBytes;
        long held = counter.addAndGet(delta);
        if ((kind == MemoryKind.USER && held > maxUserBytes) || (maxTotalBytes != Long.MAX_VALUE && userBytes.get() + systemBytes.get() > maxTotalBytes)) {
            counter.addAndGet(-delta);
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
    public MemoryPool pool()
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
    public Map<String, Long> topConsumers(int limit)
    {
        Map<String, Long> byTag = new HashMap<>();
        for (TaskMemoryContext task : tasks.values()) {
            for (OperatorMemoryContext operator : task.operators()) {
                long bytes = operator.userMemory().bytes();
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
    public void checkNotFailed()
    {
        QueryKilledException killed = failure.get();
        if (killed != null) {
            throw new QueryKilledException(killed.errorCode(), killed.getMessage());
        }
    }

    /** Why the query was killed on this node, if it was. */
    public java.util.Optional<QueryKilledException> failure()
    {
        return java.util.Optional.ofNullable(failure.get());
    }

    /**
     * Fails the query on this node: later accounting calls throw with {@code errorCode}, and everything it holds is
     * released now. The first failure is kept.
     *
     * @return true if this call failed the query, false if it had already failed
     */
    public boolean fail(ErrorCode errorCode, String message)
    {
        if (!failure.compareAndSet(null, new QueryKilledException(errorCode, message))) {
            return false;
        }
        for (TaskMemoryContext task : tasks.values()) {
            task.forceRelease();
        }
        return true;
    }

    public boolean isClosed()
    {
        return closed.get();
    }

    void taskClosed(TaskMemoryContext task)
    {
        tasks.remove(task.taskId(), task);
    }

    private void checkOpen()
    {
        if (closed.get()) {
            throw new IllegalStateException("query memory context " + queryId + " is already closed on node " + node.nodeId());
        }
    }

    /** Closes every task, releasing everything the query holds on this node. Idempotent. */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (TaskMemoryContext task : tasks.values()) {
            task.close();
        }
        tracker.close();
        node.queryClosed(this);
    }

    @Override
    public String toString()
    {
        return "QueryMemoryContext{" + queryId + "@" + node.nodeId() + ", user=" + userBytes + ", system=" + systemBytes + ", revocable=" + revocableBytes + "}";
    }
}
