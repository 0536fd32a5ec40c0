package io.memgov.engine.internal.pool;

import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.pool.MemoryPoolSlot;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * The engine's standard pool (policy {@code fixed}) with Trino's semantics, without Trino's pool-wide lock: every
 * counter (pool, task, tag) is its own atomic cell, so reservations of different queries never contend on a lock. A
 * query's total is the sum of its task cells, read only by snapshots, so a reservation writes three cells: the pool
 * total, its task and its tag. Cells of a query live until the engine {@link #forgetQuery forgets} it; snapshots
 * leave out zero entries, which is what Trino's maps show after removing them.
 *
 * <p>Its {@linkplain #slot slots} are {@link Handle}s: the cells of one task and tag, looked up once, so that the
 * engine's hot path, which reserves through slots, does no map look-up and allocates nothing.
 *
 * <p>A reservation that would take the pool's reserved bytes (user and revocable together) past {@code Long.MAX_VALUE}
 * throws {@link IllegalArgumentException} naming the bytes and the pool, and records nothing; a try of any size on a
 * pool without room for it returns false.
 */
public final class FixedMemoryPool
        implements ResizableMemoryPool
{
    private static final Logger log = LoggerFactory.getLogger(FixedMemoryPool.class);

    private final String id;
    private volatile long maxBytes;
    private final AtomicLong reservedBytes = new AtomicLong();
    private final AtomicLong reservedRevocableBytes = new AtomicLong();
    // user plus revocable bytes: the one counter tries claim on, so a user try and a revocable try cannot both take
    // the last free bytes (each would otherwise read the other kind's counter outside its compare-and-set)
    private final AtomicLong claimedBytes = new AtomicLong();
    private final ConcurrentHashMap<QueryId, QueryCells> queries = new ConcurrentHashMap<>();
    private final List<MemoryPoolListener> listeners = new CopyOnWriteArrayList<>();

    private final Object futureLock = new Object();
    // the shared future callers block on; null while free bytes are positive
    private volatile MemoryFuture future;

    public FixedMemoryPool(String id, long maxBytes)
    {
        this.id = requireNonNull(id, "id is null");
        checkNonNegative(maxBytes, "maxBytes");
        this.maxBytes = maxBytes;
    }

    @Override
    public String id()
    {
        return id;
    }

    @Override
    public long maxBytes()
    {
        return maxBytes;
    }

    @Override
    public void setMaxBytes(long maxBytes)
    {
        checkNonNegative(maxBytes, "maxBytes");
        this.maxBytes = maxBytes;
        signalIfFree();
        notifyListeners();
    }

    @Override
    public long reservedBytes()
    {
        return reservedBytes.get();
    }

    @Override
    public long reservedRevocableBytes()
    {
        return reservedRevocableBytes.get();
    }

    @Override
    public long freeBytes()
    {
        return maxBytes - claimedBytes.get();
    }

    @Override
    public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        checkNonNegative(bytes, "bytes");
        if (bytes != 0) {
            add(reservedBytes, bytes, taskId, tag);
            recordUser(taskId, tag, bytes);
        }
        return afterReserve();
    }

    /** This pool's cells of {@code taskId} and {@code tag}: a {@link #handle}. */
    @Override
    public MemoryPoolSlot slot(TaskId taskId, String tag)
    {
        return handle(taskId, tag);
    }

    /**
     * The cells of {@code taskId} and {@code tag}, for callers that reserve in them many times. The handle stays valid
     * for as long as the caller uses it: if the query was {@link #forgetQuery forgotten} meanwhile, its calls fall back
     * to looking the cells up again.
     */
    public Handle handle(TaskId taskId, String tag)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        QueryCells query = cells(taskId.queryId());
        return new Handle(this, taskId, tag, query, query.task(taskId), query.tag(tag), query.revocableTask(taskId));
    }

    @Override
    public boolean tryReserve(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return true;
        }
        if (!claimIfFree(reservedBytes, bytes)) {
            return false;
        }
        recordUser(taskId, tag, bytes);
        notifyListeners();
        return true;
    }

    @Override
    public void free(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return;
        }
        QueryCells query = heldBy(taskId, "memory");
        releaseUser(taskId, tag, query.tasks.get(taskId), query.tags.get(tag), bytes);
        afterFree();
    }

    @Override
    public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        checkNonNegative(bytes, "bytes");
        if (bytes != 0) {
            add(reservedRevocableBytes, bytes, taskId, null);
            recordRevocable(taskId, bytes);
        }
        return afterReserve();
    }

    @Override
    public boolean tryReserveRevocable(TaskId taskId, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return true;
        }
        // a user try and a revocable try racing each other may still over-commit by one of them, which a plain
        // reserve may do anyway
        if (!claimIfFree(reservedRevocableBytes, bytes)) {
            return false;
        }
        recordRevocable(taskId, bytes);
        notifyListeners();
        return true;
    }

    @Override
    public void freeRevocable(TaskId taskId, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        checkNonNegative(bytes, "bytes");
        if (bytes == 0) {
            return;
        }
        QueryCells query = heldBy(taskId, "revocable memory");
        releaseRevocable(taskId, query.revocableTasks.get(taskId), bytes);
        afterFree();
    }

    private void recordUser(TaskId taskId, String tag, long bytes)
    {
        while (true) {
            QueryCells query = cells(taskId.queryId());
            if (recordUser(query, query.task(taskId), query.tag(tag), bytes)) {
                return;
            }
        }
    }

    /**
     * Adds to the cells unless forgetQuery dropped them meanwhile; then nothing is left added and the caller looks
     * them up again. Adding before reading {@code retired}, while forgetQuery sets it before reading the cells, is
     * what keeps the two from both going ahead.
     */
    private static boolean recordUser(QueryCells query, AtomicLong task, AtomicLong tag, long bytes)
    {
        task.addAndGet(bytes);
        tag.addAndGet(bytes);
        if (query.retired) {
            task.addAndGet(-bytes);
            tag.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    private void recordRevocable(TaskId taskId, long bytes)
    {
        while (true) {
            QueryCells query = cells(taskId.queryId());
            if (recordRevocable(query, query.revocableTask(taskId), bytes)) {
                return;
            }
        }
    }

    private static boolean recordRevocable(QueryCells query, AtomicLong task, long bytes)
    {
        task.addAndGet(bytes);
        if (query.retired) {
            task.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    /**
     * Takes {@code bytes} from the task's and the tag's cells, then from the pool total. A cell that holds too little
     * (or does not exist) makes the call change nothing. The total needs no check: it is raised before the cells and
     * lowered after them, so it never holds less than they do.
     */
    private void releaseUser(TaskId taskId, String tag, AtomicLong taskCell, AtomicLong tagCell, long bytes)
    {
        if (taskCell == null || !decrementIfEnough(taskCell, bytes)) {
            throw negative(taskCell, bytes, "task " + taskId);
        }
        if (tagCell == null || !decrementIfEnough(tagCell, bytes)) {
            taskCell.addAndGet(bytes);
            throw negative(tagCell, bytes, "tag " + tag + " of query " + taskId.queryId());
        }
        subtract(reservedBytes, bytes);
    }

    private void releaseRevocable(TaskId taskId, AtomicLong taskCell, long bytes)
    {
        if (taskCell == null || !decrementIfEnough(taskCell, bytes)) {
            throw negative(taskCell, bytes, "revocable memory of task " + taskId);
        }
        subtract(reservedRevocableBytes, bytes);
    }

    private static IllegalArgumentException negative(AtomicLong cell, long bytes, String what)
    {
        long old = cell == null ? 0 : cell.get();
        return new IllegalArgumentException(String.format("New counter value is negative: %s, old value: %s, new delta: %s (%s)", old - bytes, old, -bytes, what));
    }

    /**
     * Adds {@code bytes} to {@code kind} (the user or the revocable counter) only if the pool stays within its maximum.
     * The claim is one compare-and-set on the sum of both kinds, so two concurrent tries of either kind never both take
     * the last free bytes.
     */
    private boolean claimIfFree(AtomicLong kind, long bytes)
    {
        while (true) {
            long before = claimedBytes.get();
            // free bytes from the value the CAS compares against: reading the sum again could see it lower, and a
            // claim racing back to 'before' would then let this one over-commit. Compared, not subtracted twice: on an
            // over-committed pool 'max - before - bytes' could wrap to a positive number
            if (bytes > maxBytes - before) {
                return false;
            }
            if (claimedBytes.compareAndSet(before, before + bytes)) {
                kind.addAndGet(bytes);
                return true;
            }
        }
    }

    /**
     * Adds {@code bytes} to {@code kind} (the user or the revocable counter) and to the claimed sum, refusing it if the
     * sum would pass {@code Long.MAX_VALUE}. The sum is never less than either kind, nor than any task's or tag's cell,
     * so checking it alone keeps every counter of the pool in range. A compare-and-set rather than one add: a sum that
     * wrapped, even for an instant, would show other threads huge free bytes and let their tries through.
     *
     * @param tag null for revocable memory
     * @throws IllegalArgumentException if the claimed sum would overflow; nothing changed
     */
    private void add(AtomicLong kind, long bytes, TaskId taskId, String tag)
    {
        long before = claimedBytes.get();
        while (true) {
            long after = before + bytes;
            if (after < before) {
                throw new IllegalArgumentException(String.format(
                        "Cannot reserve %s bytes for task %s (%s) in memory pool '%s': the pool's reserved bytes, user and revocable (%s), would overflow a long; nothing was reserved",
                        bytes, taskId, tag == null ? "revocable" : tag, id, before));
            }
            long witness = claimedBytes.compareAndExchange(before, after);
            if (witness == before) {
                break;
            }
            before = witness;
        }
        kind.addAndGet(bytes);
    }

    private void subtract(AtomicLong kind, long bytes)
    {
        kind.addAndGet(-bytes);
        claimedBytes.addAndGet(-bytes);
    }

    private MemoryFuture afterReserve()
    {
        MemoryFuture result = freeBytes() > 0 ? MemoryFuture.NOT_BLOCKED : blockedFuture();
        notifyListeners();
        return result;
    }

    private void afterFree()
    {
        signalIfFree();
        notifyListeners();
    }

    private QueryCells heldBy(TaskId taskId, String what)
    {
        QueryCells query = queries.get(taskId.queryId());
        if (query == null) {
            throw new IllegalArgumentException("tried to free more " + what + " than is reserved: query " + taskId.queryId() + " holds nothing in pool '" + id + "'");
        }
        return query;
    }

    @Override
    public long queryReservedBytes(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        return query == null ? 0 : sum(query.tasks);
    }

    @Override
    public long queryRevocableBytes(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        return query == null ? 0 : sum(query.revocableTasks);
    }

    /** User bytes the task holds; zero when unknown. */
    public long taskReservedBytes(TaskId taskId)
    {
        QueryCells query = queries.get(taskId.queryId());
        if (query == null) {
            return 0;
        }
        AtomicLong task = query.tasks.get(taskId);
        return task == null ? 0 : task.get();
    }

    @Override
    public void forgetQuery(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        if (query == null) {
            return;
        }
        // handles hold the cells: mark them first, so that a reservation racing with this either shows up in
        // isEmpty() or sees the mark and looks its cells up again (see recordUser)
        synchronized (query) {
            query.retired = true;
            if (query.isEmpty()) {
                queries.remove(queryId, query);
            }
            else {
                query.retired = false;
            }
        }
    }

    @Override
    public void addListener(MemoryPoolListener listener)
    {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    @Override
    public MemoryPoolInfo info()
    {
        Map<QueryId, Long> queryReservations = new HashMap<>();
        Map<QueryId, List<MemoryAllocation>> queryAllocations = new HashMap<>();
        Map<QueryId, Long> queryRevocable = new HashMap<>();
        Map<TaskId, Long> taskReservations = new HashMap<>();
        Map<TaskId, Long> taskRevocable = new HashMap<>();
        for (Map.Entry<QueryId, QueryCells> entry : queries.entrySet()) {
            QueryCells query = entry.getValue();
            // the query's totals are summed from the very task values the snapshot shows, so the two always agree
            long user = 0;
            for (Map.Entry<TaskId, AtomicLong> task : query.tasks.entrySet()) {
                long bytes = task.getValue().get();
                user += bytes;
                putIfPositive(taskReservations, task.getKey(), bytes);
            }
            long revocable = 0;
            for (Map.Entry<TaskId, AtomicLong> task : query.revocableTasks.entrySet()) {
                long bytes = task.getValue().get();
                revocable += bytes;
                putIfPositive(taskRevocable, task.getKey(), bytes);
            }
            putIfPositive(queryReservations, entry.getKey(), user);
            putIfPositive(queryRevocable, entry.getKey(), revocable);
            List<MemoryAllocation> allocations = new ArrayList<>();
            query.tags.forEach((tag, bytes) -> {
                long value = bytes.get();
                if (value > 0) {
                    allocations.add(new MemoryAllocation(tag, value));
                }
            });
            if (!allocations.isEmpty()) {
                allocations.sort(Comparator.comparingLong(MemoryAllocation::allocationBytes).reversed());
                queryAllocations.put(entry.getKey(), allocations);
            }
        }
        return new MemoryPoolInfo(id, maxBytes, Math.max(0, reservedBytes.get()), Math.max(0, reservedRevocableBytes.get()),
                queryReservations, queryAllocations, queryRevocable, taskReservations, taskRevocable);
    }

    private QueryCells cells(QueryId queryId)
    {
        QueryCells query = queries.get(queryId);
        return query != null ? query : queries.computeIfAbsent(queryId, ignored -> new QueryCells());
    }

    private MemoryFuture blockedFuture()
    {
        MemoryFuture blocked;
        synchronized (futureLock) {
            blocked = future;
            if (blocked == null) {
                blocked = MemoryFuture.pending();
                future = blocked;
            }
        }
        // a free that ran before the future was published could not see it: check again now that it is published
        if (freeBytes() > 0) {
            signalIfFree();
        }
        return blocked;
    }

    private void signalIfFree()
    {
        if (future == null) {
            return;
        }
        MemoryFuture toSignal;
        synchronized (futureLock) {
            toSignal = future;
            if (toSignal == null || freeBytes() <= 0) {
                return;
            }
            future = null;
        }
        // outside the lock: the future's callbacks may reserve again
        toSignal.signal();
    }

    private void notifyListeners()
    {
        for (MemoryPoolListener listener : listeners) {
            try {
                listener.onMemoryReserved(this);
            }
            catch (RuntimeException e) {
                log.warn("Memory pool listener {} failed", listener, e);
            }
        }
    }

    private static boolean decrementIfEnough(AtomicLong counter, long bytes)
    {
        while (true) {
            long old = counter.get();
            if (old < bytes) {
                return false;
            }
            if (counter.compareAndSet(old, old - bytes)) {
                return true;
            }
        }
    }

    private static long sum(Map<?, AtomicLong> cells)
    {
        long sum = 0;
        for (AtomicLong cell : cells.values()) {
            sum += cell.get();
        }
        return sum;
    }

    private static <K> void putIfPositive(Map<K, Long> map, K key, long value)
    {
        if (value > 0) {
            map.put(key, value);
        }
    }

    private static void checkNonNegative(long value, String name)
    {
        if (value < 0) {
            throw new IllegalArgumentException(String.format("'%s' is negative: %s", name, value));
        }
    }

    @Override
    public String toString()
    {
        return "FixedMemoryPool{id=" + id + ", max=" + maxBytes + ", reserved=" + reservedBytes.get() + ", revocable=" + reservedRevocableBytes.get() + "}";
    }

    private static final class QueryCells
    {
        // set while forgetQuery decides whether to drop these cells, and for good once it has
        volatile boolean retired;
        final ConcurrentHashMap<TaskId, AtomicLong> tasks = new ConcurrentHashMap<>();
        final ConcurrentHashMap<TaskId, AtomicLong> revocableTasks = new ConcurrentHashMap<>();
        final ConcurrentHashMap<String, AtomicLong> tags = new ConcurrentHashMap<>();

        AtomicLong task(TaskId taskId)
        {
            AtomicLong cell = tasks.get(taskId);
            return cell != null ? cell : tasks.computeIfAbsent(taskId, ignored -> new AtomicLong());
        }

        AtomicLong revocableTask(TaskId taskId)
        {
            AtomicLong cell = revocableTasks.get(taskId);
            return cell != null ? cell : revocableTasks.computeIfAbsent(taskId, ignored -> new AtomicLong());
        }

        AtomicLong tag(String tag)
        {
            AtomicLong cell = tags.get(tag);
            return cell != null ? cell : tags.computeIfAbsent(tag, ignored -> new AtomicLong());
        }

        boolean isEmpty()
        {
            return sum(tasks) == 0 && sum(revocableTasks) == 0;
        }
    }

    /**
     * One task's and tag's cells in this pool, looked up once ({@link FixedMemoryPool#handle}): the same calls as the
     * pool's, with the same checks and results, minus the map look-ups. Thread-safe; holds no state of its own.
     */
    public static final class Handle
            implements MemoryPoolSlot
    {
        private final FixedMemoryPool pool;
        private final TaskId taskId;
        private final String tag;
        private final QueryCells query;
        private final AtomicLong task;
        private final AtomicLong tagCell;
        private final AtomicLong revocableTask;

        private Handle(FixedMemoryPool pool, TaskId taskId, String tag, QueryCells query, AtomicLong task, AtomicLong tagCell, AtomicLong revocableTask)
        {
            this.pool = pool;
            this.taskId = taskId;
            this.tag = tag;
            this.query = query;
            this.task = task;
            this.tagCell = tagCell;
            this.revocableTask = revocableTask;
        }

        public FixedMemoryPool pool()
        {
            return pool;
        }

        @Override
        public TaskId taskId()
        {
            return taskId;
        }

        @Override
        public String tag()
        {
            return tag;
        }

        /** True once the pool forgot the query: the handle still works, through look-ups; callers should get a new one. */
        @Override
        public boolean isStale()
        {
            return query.retired;
        }

        /** As {@link FixedMemoryPool#reserve}. */
        @Override
        public MemoryFuture reserve(long bytes)
        {
            checkNonNegative(bytes, "bytes");
            if (bytes != 0) {
                pool.add(pool.reservedBytes, bytes, taskId, tag);
                if (!recordUser(query, task, tagCell, bytes)) {
                    pool.recordUser(taskId, tag, bytes);
                }
            }
            return pool.afterReserve();
        }

        /** As {@link FixedMemoryPool#tryReserve}. */
        @Override
        public boolean tryReserve(long bytes)
        {
            checkNonNegative(bytes, "bytes");
            if (bytes == 0) {
                return true;
            }
            if (!pool.claimIfFree(pool.reservedBytes, bytes)) {
                return false;
            }
            if (!recordUser(query, task, tagCell, bytes)) {
                pool.recordUser(taskId, tag, bytes);
            }
            pool.notifyListeners();
            return true;
        }

        /** As {@link FixedMemoryPool#free}. */
        @Override
        public void free(long bytes)
        {
            checkNonNegative(bytes, "bytes");
            if (bytes == 0) {
                return;
            }
            if (query.retired) {
                pool.free(taskId, tag, bytes);
                return;
            }
            pool.releaseUser(taskId, tag, task, tagCell, bytes);
            pool.afterFree();
        }

        /** As {@link FixedMemoryPool#reserveRevocable}. */
        @Override
        public MemoryFuture reserveRevocable(long bytes)
        {
            checkNonNegative(bytes, "bytes");
            if (bytes != 0) {
                pool.add(pool.reservedRevocableBytes, bytes, taskId, null);
                if (!recordRevocable(query, revocableTask, bytes)) {
                    pool.recordRevocable(taskId, bytes);
                }
            }
            return pool.afterReserve();
        }

        /** As {@link FixedMemoryPool#tryReserveRevocable}. */
        @Override
        public boolean tryReserveRevocable(long bytes)
        {
            checkNonNegative(bytes, "bytes");
            if (bytes == 0) {
                return true;
            }
            if (!pool.claimIfFree(pool.reservedRevocableBytes, bytes)) {
                return false;
            }
            if (!recordRevocable(query, revocableTask, bytes)) {
                pool.recordRevocable(taskId, bytes);
            }
            pool.notifyListeners();
            return true;
        }

        /** As {@link FixedMemoryPool#freeRevocable}. */
        @Override
        public void freeRevocable(long bytes)
        {
            checkNonNegative(bytes, "bytes");
            if (bytes == 0) {
                return;
            }
            if (query.retired) {
                pool.freeRevocable(taskId, bytes);
                return;
            }
            pool.releaseRevocable(taskId, revocableTask, bytes);
            pool.afterFree();
        }

        @Override
        public String toString()
        {
            return "FixedMemoryPool.Handle{" + pool.id + ", " + taskId + " " + tag + "}";
        }
    }
}
