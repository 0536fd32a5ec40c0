package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * One level of ClickHouse's tracker tree (thread, query, user or node), with per-thread batching.
 *
 * <p>Each thread keeps what it allocates and frees through this tracker in its own {@link ThreadCell} and carries
 * the cell up the chain only when it passes {@code max-untracked-memory} either way, on {@link #flush()}, and on
 * {@link #close()} (which drains every thread's cell). A thread's call writes only its own cell, with no atomic
 * instruction; a closer or a limit check takes another thread's balance under that cell's monitor, and every byte is
 * taken out of a cell exactly once, by whoever takes it, and carried (see {@link ThreadCell}). A single call larger
 * than {@code max-untracked-memory} is carried at once (an allocation together with what the thread holds, as
 * ClickHouse does), so that no thread's balance comes near the range of a {@code long}.
 *
 * <p>Every level keeps the signed sum of what was carried through it: exact once every thread has flushed, whatever
 * thread frees what. A free carried before the allocation it matches (memory allocated on two threads and freed on a
 * third, whose balance passes {@code -max-untracked-memory} first) takes a level below zero until the allocating
 * threads carry theirs. ClickHouse clamps its query and user levels at zero on every free and so loses such frees;
 * here only {@link #usedBytes()} of a query or user reads a negative sum as zero. Limits are checked against the sum.
 *
 * <p>The correction worker does not write into the sum: with {@code correct-tracker=true} it sets the node's
 * correction term to what the process really uses minus the sum, and the node's {@link #usedBytes()} and its limit
 * check add that term. A bookkeeping error is therefore never folded into a total; each tick recomputes the term.
 *
 * <p>A delta that would take any level's sum (or the calling thread's balance) out of a {@code long}'s range is
 * refused, naming the bytes, and changes nothing: an allocation with a {@link MemoryLimitExceededException}, a free
 * with an {@link IllegalArgumentException}.
 *
 * <p>A call that races with {@link #close()} on another thread may leave its delta in the calling thread's cell:
 * nothing orders the call's store before its read of {@code closed} without a fence on every call. The delta is not
 * lost: {@link #untrackedBytes()} of the closed tracker still shows it, and that thread's next call on the tracker,
 * or its {@link #flush()}, carries it. Hosts stop using a tracker before closing it, so this is a host race only.
 *
 * <p>A carried allocation is added level by level (this, then the parent); a level over its limit first takes back
 * frees still held in its subtree's cells, then asks the overcommit killer, then fails; a failing level undoes its
 * own add and every level below undoes its own on the way out, so a failure changes nothing anywhere.
 */
final class ThreadBatchedMemoryTracker
        implements MemoryTracker
{
    private static final VarHandle CLOSED;
    private static final VarHandle FIRST_CELL;
    private static final long REFUSED = Long.MIN_VALUE;
    // what one thread may batch per tracker whatever max-untracked-memory says: sums of thread balances must stay far
    // from a long's range (1 TiB per thread; larger batches mean "never carry" in practice)
    private static final long MAX_BATCH_BYTES = 1L << 40;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CLOSED = lookup.findVarHandle(ThreadBatchedMemoryTracker.class, "closed", boolean.class);
            FIRST_CELL = lookup.findVarHandle(ThreadBatchedMemoryTracker.class, "firstCell", ThreadCell.class);
        }
        catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final TrackerTree tree;
    private final TrackerLevel level;
    private final String description;
    private final ThreadBatchedMemoryTracker parent;
    private final long hardLimitBytes;
    private final long maxUntrackedBytes;
    // query and user levels read a negative sum as zero, as ClickHouse's do; thread and node read it as it is
    private final boolean readsAtLeastZero;
    // the query on whose behalf this tracker allocates (itself, or the query above a thread), for the overcommit killer
    private final ThreadBatchedMemoryTracker query;
    // set for query trackers whose description is a valid query id, the ones the overcommit killer can fail
    private final QueryId queryId;
    private final OvercommitTracker overcommit;

    // the signed sum of what was carried through this level; never clamped
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    // the root's correction term (actual minus tracked at the last tick, with correct-tracker=true); 0 elsewhere
    private volatile long correctionBytes;
    private final ThreadLocal<ThreadCell> cells = ThreadLocal.withInitial(this::registerCell);
    // the cell of the first thread that used this tracker, found without the ThreadLocal look-up (a tracker's first
    // thread usually makes most of its calls); set once, read plainly: a thread that reads null takes the ThreadLocal
    private ThreadCell firstCell;
    private final Queue<ThreadCell> registry = new ConcurrentLinkedQueue<>();
    private final Set<ThreadBatchedMemoryTracker> children = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    ThreadBatchedMemoryTracker(TrackerTree tree, TrackerLevel level, String description, ThreadBatchedMemoryTracker parent, long hardLimitBytes)
    {
        this.tree = requireNonNull(tree, "tree is null");
        this.level = requireNonNull(level, "level is null");
        this.description = requireNonNull(description, "description is null");
        this.parent = parent;
        if (hardLimitBytes < 0) {
            throw new IllegalArgumentException("hardLimitBytes is negative: " + hardLimitBytes);
        }
        this.hardLimitBytes = hardLimitBytes;
        this.maxUntrackedBytes = Math.min(tree.config().maxUntrackedBytes(), MAX_BATCH_BYTES);
        this.readsAtLeastZero = level == TrackerLevel.QUERY || level == TrackerLevel.USER;
        if (level == TrackerLevel.QUERY) {
            this.query = this;
        }
        else if (level == TrackerLevel.THREAD && parent != null) {
            this.query = parent.query;
        }
        else {
            this.query = null;
        }
        this.queryId = level == TrackerLevel.QUERY ? toQueryId(description) : null;
        boolean arbitrates = level == TrackerLevel.USER || level == TrackerLevel.NODE;
        this.overcommit = arbitrates && tree.config().overcommitEnabled() ? new OvercommitTracker(tree, this) : null;
    }

    private static QueryId toQueryId(String description)
    {
        try {
            return QueryId.of(description);
        }
        catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public TrackerLevel level()
    {
        return level;
    }

    @Override
    public String description()
    {
        return description;
    }

    @Override
    public Optional<MemoryTracker> parent()
    {
        return Optional.ofNullable(parent);
    }

    /**
     * {@inheritDoc}
     *
     * <p>A query or user level reads a negative sum as zero (ClickHouse's saturation, applied at read time); the node
     * adds its correction term when {@code correct-tracker=true}.
     */
    @Override
    public long usedBytes()
    {
        long tracked = used.get();
        return readsAtLeastZero ? Math.max(0, tracked) : withCorrection(tracked);
    }

    /** The signed sum of what was carried through this level, without correction: exact once every thread has flushed. */
    long trackedBytes()
    {
        return used.get();
    }

    @Override
    public long peakBytes()
    {
        return peak.get();
    }

    @Override
    public long hardLimitBytes()
    {
        return hardLimitBytes;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched: below {@code max-untracked-memory} the bytes stay in the calling thread and no limit is checked.
     * After {@link #close()} calls are carried at once.
     */
    @Override
    public void allocate(long bytes)
    {
        checkBytes(bytes);
        if (maxUntrackedBytes == 0 || bytes > maxUntrackedBytes) {
            allocateUnbatched(bytes);
            return;
        }
        ThreadCell cell = cell();
        long held = cell.add(bytes);
        // after close() every call carries at once (a call racing with close() is the class comment's case)
        if (held > maxUntrackedBytes || closed) {
            long balance = cell.take();
            // the balance may differ from what the add returned: close() may have taken it meanwhile
            carryAllocation(cell, balance, balance - bytes);
        }
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if the free would take a level's sum below {@code Long.MIN_VALUE}; nothing
     *         changed
     */
    @Override
    public void free(long bytes)
    {
        checkBytes(bytes);
        if (maxUntrackedBytes == 0 || bytes > maxUntrackedBytes) {
            // carried at once and alone: what the thread holds stays batched
            freeChain(bytes);
            return;
        }
        ThreadCell cell = cell();
        long held = cell.add(-bytes);
        if (held < -maxUntrackedBytes || closed) {
            carryTaken(cell, cell.take());
        }
    }

    /**
     * Carries the calling thread's balance without checking limits (the bytes were already granted when they were
     * batched). Fails only if a level's sum would leave a {@code long}'s range; the balance then stays in the thread.
     */
    @Override
    public void flush()
    {
        if (maxUntrackedBytes != 0) {
            ThreadCell cell = cell();
            carryTaken(cell, cell.take());
        }
    }

    /** Held back by all threads for this tracker and for every tracker below it. Racy while threads run. */
    @Override
    public long untrackedBytes()
    {
        long total = 0;
        for (ThreadCell cell : registry) {
            total += cell.held();
        }
        for (ThreadBatchedMemoryTracker child : children) {
            total += child.untrackedBytes();
        }
        return total;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The configured limit of the level ({@code max-memory-usage} for a query, {@code max-memory-usage-for-user}
     * for a user) applies too: the lower non-zero one wins.
     */
    @Override
    public MemoryTracker newChild(TrackerLevel level, String description, long hardLimitBytes)
    {
        requireNonNull(level, "level is null");
        requireNonNull(description, "description is null");
        if (level.ordinal() >= this.level.ordinal()) {
            throw new IllegalArgumentException(String.format("Level %s is not below %s (tracker '%s')", level, this.level, this.description));
        }
        if (hardLimitBytes < 0) {
            throw new IllegalArgumentException("hardLimitBytes is negative: " + hardLimitBytes);
        }
        if (closed) {
            throw new IllegalStateException("Tracker '" + this.description + "' is closed");
        }
        long limit = hardLimitBytes;
        if (level == TrackerLevel.QUERY) {
            limit = ThreadBatchedConfig.minNonZero(tree.config().maxMemoryUsageBytes(), hardLimitBytes);
        }
        else if (level == TrackerLevel.USER) {
            limit = ThreadBatchedConfig.minNonZero(tree.config().maxMemoryUsageForUserBytes(), hardLimitBytes);
        }
        ThreadBatchedMemoryTracker child = new ThreadBatchedMemoryTracker(tree, level, description, this, limit);
        children.add(child);
        return child;
    }

    /**
     * Carries every thread's balance up (unchecked, as ClickHouse's detach does), detaches from the parent and tells
     * the overcommit killer the query stopped. The root also stops the correction worker. Later calls are carried
     * at once, without batching.
     */
    @Override
    public void close()
    {
        if (!CLOSED.compareAndSet(this, false, true)) {
            return;
        }
        try {
            // cell by cell, so that a carry a level refuses (it would overflow) leaves that balance where it was
            for (ThreadCell cell : registry) {
                carryTaken(cell, cell.take());
            }
        }
        finally {
            // the cells stay registered: a call racing with this close may still leave a balance in one (see the class)
            cells.remove();
            if (parent != null) {
                parent.children.remove(this);
            }
            if (level == TrackerLevel.QUERY) {
                for (ThreadBatchedMemoryTracker ancestor = parent; ancestor != null; ancestor = ancestor.parent) {
                    if (ancestor.overcommit != null) {
                        ancestor.overcommit.onQueryStop(this);
                    }
                }
            }
            if (parent == null) {
                tree.stopCorrection();
            }
        }
    }

    boolean isClosed()
    {
        return closed;
    }

    TrackerTree tree()
    {
        return tree;
    }

    /** The overcommit killer of a user or node tracker, or null. */
    OvercommitTracker overcommit()
    {
        return overcommit;
    }

    QueryId queryId()
    {
        return queryId;
    }

    /** Open query trackers at or below this one. */
    List<ThreadBatchedMemoryTracker> queries()
    {
        List<ThreadBatchedMemoryTracker> queries = new ArrayList<>();
        collectQueries(queries);
        return queries;
    }

    private void collectQueries(List<ThreadBatchedMemoryTracker> queries)
    {
        if (level == TrackerLevel.QUERY) {
            if (!closed) {
                queries.add(this);
            }
            return;
        }
        for (ThreadBatchedMemoryTracker child : children) {
            child.collectQueries(queries);
        }
    }

    /** Whether {@code bytes} more would fit under this level's limit now. */
    boolean hasRoomFor(long bytes)
    {
        return hardLimitBytes == 0 || withCorrection(used.get()) <= hardLimitBytes - bytes;
    }

    /**
     * The correction worker's {@code correct-tracker=true} step (ClickHouse's {@code total_memory_tracker.set(rss)}),
     * without writing into the tracked sum: from now on this level reads {@code actualBytes} plus whatever is carried
     * until the next tick, and its sum stays exact.
     */
    void correctTo(long actualBytes)
    {
        long before = usedBytes();
        correctionBytes = saturatedSubtract(actualBytes, used.get());
        long after = usedBytes();
        updatePeak(after);
        if (before > after && overcommit != null) {
            overcommit.onFree(before - after);
        }
    }

    /** The correction term added to this level's sum; 0 unless this is a root corrected with {@code correct-tracker=true}. */
    long correctionBytes()
    {
        return correctionBytes;
    }

    private long withCorrection(long tracked)
    {
        return saturatedAdd(tracked, correctionBytes);
    }

    /**
     * A chunk larger than {@code max-untracked-memory} (or any chunk when it is 0): carried at once, together with
     * the calling thread's balance, as ClickHouse carries its untracked bytes with the chunk that passes the limit.
     */
    private void allocateUnbatched(long bytes)
    {
        if (maxUntrackedBytes == 0) {
            allocateChain(bytes, true, query, false);
            return;
        }
        ThreadCell cell = cell();
        long balance = cell.take();
        long total = balance + bytes;
        if (overflows(balance, bytes, total)) {
            cell.giveBack(balance);
            throw counterOverflow(balance, bytes);
        }
        carryAllocation(cell, total, balance);
    }

    /**
     * Carries a balance taken from the calling thread's cell, checked if it is an allocation.
     *
     * @param keptOnFailure what the thread holds if the allocation is refused: its balance before the call
     */
    private void carryAllocation(ThreadCell cell, long balance, long keptOnFailure)
    {
        if (balance <= 0) {
            carryTaken(cell, balance);
            return;
        }
        try {
            allocateChain(balance, true, query, false);
        }
        catch (RuntimeException | Error e) {
            // the failed allocation never happened; the thread keeps the balance it had before it
            deposit(cell, keptOnFailure);
            throw e;
        }
    }

    /** Carries a balance taken from {@code cell} unchecked; if a level refuses it (overflow), puts it back. */
    private void carryTaken(ThreadCell cell, long balance)
    {
        try {
            carryUnchecked(balance);
        }
        catch (RuntimeException | Error e) {
            cell.giveBack(balance);
            throw e;
        }
    }

    private void deposit(ThreadCell cell, long delta)
    {
        if (delta == 0) {
            return;
        }
        cell.add(delta);
        if (closed) {
            carryTaken(cell, cell.take());
        }
    }

    private void carryUnchecked(long balance)
    {
        if (balance > 0) {
            allocateChain(balance, false, null, true);
        }
        else if (balance < 0) {
            freeChain(-balance);
        }
    }

    /**
     * Adds {@code delta} here and then at every parent; if this level or any above fails, this level undoes its add
     * before rethrowing, so that nothing changed anywhere.
     *
     * @param requester the query asking, for the overcommit killer; null when none
     * @param bypassCounted whether a level below already counted this allocation as allocated without check
     */
    private void allocateChain(long delta, boolean check, ThreadBatchedMemoryTracker requester, boolean bypassCounted)
    {
        boolean counted = bypassCounted;
        if (check && level == TrackerLevel.QUERY && tree.injectFault() && !NoThrowScope.isOpen()) {
            throw faultInjected(delta);
        }
        // the value this call's own add produced: a peak never records more than a check let through
        long willBe;
        if (!check || hardLimitBytes == 0) {
            willBe = add(delta);
        }
        else {
            willBe = tryAdd(delta);
            if (willBe == REFUSED) {
                if (NoThrowScope.isOpen()) {
                    willBe = add(delta);
                    if (!counted) {
                        tree.recordAllocatedWithoutCheck(delta);
                        counted = true;
                    }
                }
                else {
                    OvercommitDecision decision = overcommit == null ? OvercommitDecision.DISABLED : overcommit.needToStop(requester, delta);
                    if (decision != OvercommitDecision.MEMORY_FREED || (willBe = tryAdd(delta)) == REFUSED) {
                        throw limitExceeded(delta, decision);
                    }
                }
            }
        }
        if (parent != null) {
            try {
                parent.allocateChain(delta, check, requester, counted);
            }
            catch (RuntimeException | Error e) {
                subtract(delta);
                throw e;
            }
        }
        updatePeak(withCorrection(willBe));
    }

    /**
     * Adds {@code delta} if it fits under the limit, after taking back frees held in threads if it does not.
     *
     * @return the new sum, or {@link #REFUSED} when it does not fit (and nothing was added)
     */
    private long tryAdd(long delta)
    {
        long willBe = add(delta);
        if (withCorrection(willBe) <= hardLimitBytes) {
            return willBe;
        }
        subtract(delta);
        // a check is wrong if it fails only because threads still hold frees back: carry those and look again
        if (reclaimHeldBackFrees() > 0) {
            willBe = add(delta);
            if (withCorrection(willBe) <= hardLimitBytes) {
                return willBe;
            }
            subtract(delta);
        }
        return REFUSED;
    }

    /**
     * Adds an allocation to this level's sum, refusing it if the sum would pass {@code Long.MAX_VALUE}. A CAS loop
     * rather than one add: a sum that wrapped, even for an instant, would let other threads' checks pass.
     *
     * @return the new sum
     */
    private long add(long delta)
    {
        long current = used.get();
        while (true) {
            long next = current + delta;
            if (overflows(current, delta, next)) {
                throw counterOverflow(current, delta);
            }
            long witness = used.compareAndExchange(current, next);
            if (witness == current) {
                return next;
            }
            current = witness;
        }
    }

    /** Takes {@code bytes} off this level's sum; false, and nothing changed, if it would pass {@code Long.MIN_VALUE}. */
    private boolean tryRelease(long bytes)
    {
        long current = used.get();
        while (true) {
            long next = current - bytes;
            if (overflows(current, -bytes, next)) {
                return false;
            }
            long witness = used.compareAndExchange(current, next);
            if (witness == current) {
                return true;
            }
            current = witness;
        }
    }

    /**
     * Carries the negative balances (frees) held in this subtree's cells. Positive balances stay where they are:
     * carrying them could only push this level further over.
     *
     * @return the bytes freed
     */
    private long reclaimHeldBackFrees()
    {
        long freed = 0;
        for (ThreadCell cell : registry) {
            long balance = cell.takeIfNegative();
            if (balance < 0) {
                carryTaken(cell, balance);
                freed -= balance;
            }
        }
        for (ThreadBatchedMemoryTracker child : children) {
            freed += child.reclaimHeldBackFrees();
        }
        return freed;
    }

    /** Takes {@code bytes} off this level and every parent, or off none if one of them would overflow. */
    private void freeChain(long bytes)
    {
        for (ThreadBatchedMemoryTracker tracker = this; tracker != null; tracker = tracker.parent) {
            if (!tracker.tryRelease(bytes)) {
                for (ThreadBatchedMemoryTracker done = this; done != tracker; done = done.parent) {
                    done.used.addAndGet(bytes);
                }
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "Freeing %s bytes would overflow the counter of %s tracker '%s', which holds %s bytes: refused, nothing was freed",
                        bytes, tracker.level, tracker.description, tracker.used.get()));
            }
        }
        // after every level took it, so that a waiter never counts a free that was undone
        for (ThreadBatchedMemoryTracker tracker = this; tracker != null; tracker = tracker.parent) {
            if (tracker.overcommit != null) {
                tracker.overcommit.onFree(bytes);
            }
        }
    }

    /** Undoes this call's own add: the sum held the delta a moment ago, so it cannot overflow. */
    private void subtract(long bytes)
    {
        used.addAndGet(-bytes);
    }

    private static boolean overflows(long current, long delta, long next)
    {
        // the sign of the result differs from both operands' signs only when the addition wrapped
        return ((current ^ next) & (delta ^ next)) < 0;
    }

    private static long saturatedAdd(long a, long b)
    {
        long sum = a + b;
        if (overflows(a, b, sum)) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return sum;
    }

    private static long saturatedSubtract(long a, long b)
    {
        long difference = a - b;
        // wrapped only when the operands' signs differ and the result's sign is not the minuend's
        if (((a ^ b) & (a ^ difference)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return difference;
    }

    private void updatePeak(long value)
    {
        long current;
        while (value > (current = peak.get())) {
            if (peak.compareAndSet(current, value)) {
                return;
            }
        }
    }

    private MemoryLimitExceededException limitExceeded(long delta, OvercommitDecision decision)
    {
        tree.metrics().increment(TrackerTree.MEMORY_LIMIT_EXCEEDED, 1);
        return new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, limitMessage(level, saturatedAdd(withCorrection(used.get()), delta), delta, hardLimitBytes)
                + decision.messageSuffix());
    }

    /** An allocation of {@code delta} on top of {@code current} bytes would not fit in a {@code long}. */
    private MemoryLimitExceededException counterOverflow(long current, long delta)
    {
        tree.metrics().increment(TrackerTree.MEMORY_LIMIT_EXCEEDED, 1);
        return new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, String.format(Locale.ROOT,
                "Memory limit (%s) exceeded: an allocation of %s bytes on top of %s bytes would overflow the counter of %s tracker '%s'; refused, nothing changed.",
                level.description(), delta, current, level, description));
    }

    /** ClickHouse's message: {@code Memory limit (for query) exceeded: would use X (attempt to allocate chunk of Y), maximum: L.} */
    static String limitMessage(TrackerLevel level, long wouldUse, long chunk, long limit)
    {
        return String.format(Locale.ROOT, "Memory limit (%s) exceeded: would use %s (attempt to allocate chunk of %s), maximum: %s.",
                level.description(), DataSizes.binary(wouldUse), DataSizes.binary(chunk), DataSizes.binary(limit));
    }

    private MemoryLimitExceededException faultInjected(long delta)
    {
        tree.metrics().increment(TrackerTree.MEMORY_LIMIT_EXCEEDED, 1);
        return new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, String.format(Locale.ROOT,
                "Memory tracker (%s): fault injected by %s=%s. Would use %s (attempt to allocate chunk of %s), maximum: %s.",
                level.description(), ThreadBatchedConfig.FAULT_PROBABILITY, tree.config().faultProbability(),
                DataSizes.binary(saturatedAdd(used.get(), delta)), DataSizes.binary(delta), DataSizes.binary(hardLimitBytes)));
    }

    /** The calling thread's cell, made on its first call. */
    private ThreadCell cell()
    {
        ThreadCell first = firstCell;
        if (first != null && first.owner() == Thread.currentThread()) {
            return first;
        }
        return cells.get();
    }

    private ThreadCell registerCell()
    {
        ThreadCell cell = new ThreadCell(Thread.currentThread());
        if (closed) {
            // nothing drains the registry of a closed tracker: every call on it drains its own cell
            return cell;
        }
        // threads come and go (pools shrink); carry what dead threads left and forget their cells
        for (Iterator<ThreadCell> iterator = registry.iterator(); iterator.hasNext(); ) {
            ThreadCell other = iterator.next();
            if (!other.owner().isAlive()) {
                carryTaken(other, other.take());
                iterator.remove();
                // do not keep a dead thread reachable from the tracker
                FIRST_CELL.compareAndSet(this, other, null);
            }
        }
        registry.add(cell);
        // the same cell the ThreadLocal holds, so both ways of finding it agree
        FIRST_CELL.compareAndSet(this, null, cell);
        return cell;
    }

    private static void checkBytes(long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
    }

    @Override
    public String toString()
    {
        return String.format("ThreadBatchedMemoryTracker{level=%s, description=%s, tracked=%s, correction=%s, peak=%s, limit=%s, closed=%s}",
                level, description, used.get(), correctionBytes, peak.get(), hardLimitBytes, closed);
    }

    /**
     * One thread's balance for one tracker. The value must not reference the tracker: it sits in the thread's
     * {@code ThreadLocalMap}, whose key (the tracker's ThreadLocal) is weak, and a strong path back would leak the
     * tracker for the thread's lifetime.
     *
     * <p>The balance is {@code added - taken}, two running sums with one writer each, so that the owner's call needs
     * no atomic instruction: only the owner writes {@code added} (a plain store), and {@code taken} is written only
     * under this cell's monitor, by the owner when it carries or by a closer or a limit check taking the balance. A
     * taker never writes {@code added}, so an add racing with a take is never lost: if the taker did not see it, it
     * stays in the balance for the next take.
     */
    static final class ThreadCell
    {
        private static final VarHandle ADDED;
        private static final VarHandle TAKEN;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                ADDED = lookup.findVarHandle(ThreadCell.class, "added", long.class);
                TAKEN = lookup.findVarHandle(ThreadCell.class, "taken", long.class);
            }
            catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Thread owner;
        // written by the owner only; opaque so that other threads never read a torn value
        private long added;
        // guarded by this; read opaquely by the owner outside the monitor
        private long taken;

        ThreadCell(Thread owner)
        {
            this.owner = requireNonNull(owner, "owner is null");
        }

        Thread owner()
        {
            return owner;
        }

        /** The balance now; racy while the owner runs. */
        long held()
        {
            return (long) ADDED.getOpaque(this) - (long) TAKEN.getOpaque(this);
        }

        /**
         * Owner only. Returns the new balance as the owner sees it: a take by another thread that the owner has not
         * seen yet makes it differ from the true balance by what was taken, until the owner's next call.
         */
        long add(long delta)
        {
            // the owner is the only writer, so its plain read of its own field is exact
            long now = added + delta;
            ADDED.setOpaque(this, now);
            return now - (long) TAKEN.getOpaque(this);
        }

        /** Takes the whole balance; any thread. */
        synchronized long take()
        {
            long now = (long) ADDED.getAcquire(this);
            long balance = now - taken;
            TAKEN.setOpaque(this, now);
            return balance;
        }

        /** Puts back a balance taken from this cell that could not be carried; any thread. */
        synchronized void giveBack(long balance)
        {
            TAKEN.setOpaque(this, taken - balance);
        }

        /** Takes the balance only if it is negative; returns it, or 0. Any thread. */
        synchronized long takeIfNegative()
        {
            long now = (long) ADDED.getAcquire(this);
            long balance = now - taken;
            if (balance >= 0) {
                return 0;
            }
            TAKEN.setOpaque(this, now);
            return balance;
        }
    }
}
