package io.memgov.plugin.treetracking;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.tracker.TrackerLevel;

import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import static java.util.Objects.requireNonNull;

/**
 * The overcommit killer {@code overcommit-ratio} of one user or node tracker (ClickHouse's {@code UserOvercommitTracker}
 * and {@code GlobalOvercommitTracker}). When a request passes the tracker's hard limit, it fails the query with the
 * largest {@code used / soft limit} below the tracker and lets the requester wait for memory to be freed.
 *
 * <p>An episode starts when a request hits the limit and no victim is active; its victim is picked and failed once.
 * Requests that hit the limit during the episode wait on the same victim. The episode ends when the victim's tracker
 * closes or its usage drops to zero; the next request over the limit starts a new one.
 *
 * <p>Only the slow path (a request over the limit) takes the lock; frees look at a volatile waiter count first.
 */
final class OvercommitTracker
{
    private static final System.Logger LOG = System.getLogger(OvercommitTracker.class.getName());
    // waiters also look at the tracker itself now and then, in case a free raced with their registration
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final TrackerTree tree;
    private final ThreadBatchedMemoryTracker owner;
    private final long denominatorBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    private volatile int waiters;
    // guarded by lock
    private long freedBytes;
    // written under lock; read without it by onQueryStop's fast check
    private volatile ThreadBatchedMemoryTracker victim;
    private boolean victimStopped;

    OvercommitTracker(TrackerTree tree, ThreadBatchedMemoryTracker owner)
    {
        this.tree = requireNonNull(tree, "tree is null");
        this.owner = requireNonNull(owner, "owner is null");
        // ClickHouse: under a user, the queries' soft limit; at the node, each query's user's denominator
        this.denominatorBytes = owner.level() == TrackerLevel.USER
                ? tree.config().overcommitRatioDenominatorBytes()
                : tree.config().overcommitRatioDenominatorForUserBytes();
    }

    /**
     * Decides for a request of {@code requiredBytes} that does not fit under the owner's limit; may wait up to
     * {@code memory-usage-overcommit-max-wait}. The caller has already undone its add at the owner's level.
     *
     * @param requester the requesting query, or null when the request is not made for a query
     */
    OvercommitDecision needToStop(ThreadBatchedMemoryTracker requester, long requiredBytes)
    {
        long maxWaitNanos = tree.config().overcommitMaxWaitNanos();
        if (maxWaitNanos <= 0) {
            return OvercommitDecision.DISABLED;
        }
        ThreadBatchedMemoryTracker toKill = null;
        ThreadBatchedMemoryTracker episodeVictim;
        long freedAtStart;
        lock.lock();
        try {
            if (!episodeActive()) {
                ThreadBatchedMemoryTracker picked = pickVictim();
                if (picked == null) {
                    return OvercommitDecision.DISABLED;
                }
                victim = picked;
                victimStopped = false;
                // the requester that is itself the victim fails by throwing; nothing else to kill
                if (picked != requester) {
                    toKill = picked;
                }
            }
            episodeVictim = victim;
            if (episodeVictim == requester) {
                return OvercommitDecision.SELECTED;
            }
            waiters++;
            freedAtStart = freedBytes;
        }
        finally {
            lock.unlock();
        }

        try {
            if (toKill != null) {
                // outside the lock: the engine may release the victim's memory on this thread
                kill(toKill, requester, requiredBytes);
            }
            return awaitMemory(episodeVictim, freedAtStart, requiredBytes, System.nanoTime() + maxWaitNanos);
        }
        finally {
            lock.lock();
            try {
                waiters--;
            }
            finally {
                lock.unlock();
            }
        }
    }

    private OvercommitDecision awaitMemory(ThreadBatchedMemoryTracker episodeVictim, long freedAtStart, long requiredBytes, long deadline)
    {
        lock.lock();
        try {
            while (true) {
                if (freedBytes - freedAtStart >= requiredBytes || owner.hasRoomFor(requiredBytes)) {
                    return OvercommitDecision.MEMORY_FREED;
                }
                // not the victim's own figure: a free takes it off the query's level before its parents', and is
                // counted here only once every level took it, so a victim at 0 may still be on its way up
                if (victim != episodeVictim || victimStopped) {
                    return OvercommitDecision.NOT_ENOUGH_FREED;
                }
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return OvercommitDecision.TIMEOUTED;
                }
                changed.awaitNanos(Math.min(remaining, POLL_NANOS));
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OvercommitDecision.TIMEOUTED;
        }
        finally {
            lock.unlock();
        }
    }

    /** Called for every free carried through the owner. */
    void onFree(long bytes)
    {
        if (waiters == 0) {
            return;
        }
        lock.lock();
        try {
            freedBytes += bytes;
            changed.signalAll();
        }
        finally {
            lock.unlock();
        }
    }

    /** Called when a query below the owner closes; ends the episode if it was the victim. */
    void onQueryStop(ThreadBatchedMemoryTracker query)
    {
        if (victim != query) {
            return;
        }
        lock.lock();
        try {
            if (victim == query) {
                victimStopped = true;
                changed.signalAll();
            }
        }
        finally {
            lock.unlock();
        }
    }

    /** Requests waiting for memory now. */
    int waiters()
    {
        return waiters;
    }

    /** The current victim, or null; for tests. */
    ThreadBatchedMemoryTracker victim()
    {
        return episodeActive() ? victim : null;
    }

    private boolean episodeActive()
    {
        ThreadBatchedMemoryTracker current = victim;
        return current != null && !victimStopped && !current.isClosed() && current.usedBytes() > 0;
    }

    private ThreadBatchedMemoryTracker pickVictim()
    {
        if (denominatorBytes == 0) {
            return null;
        }
        ThreadBatchedMemoryTracker best = null;
        double bestRatio = 0;
        for (ThreadBatchedMemoryTracker query : owner.queries()) {
            long usedBytes = query.usedBytes();
            if (query.queryId() == null || usedBytes <= 0) {
                continue;
            }
            double ratio = (double) usedBytes / denominatorBytes;
            if (best == null || ratio > bestRatio) {
                best = query;
                bestRatio = ratio;
            }
        }
        return best;
    }

    private void kill(ThreadBatchedMemoryTracker victim, ThreadBatchedMemoryTracker requester, long requiredBytes)
    {
        long victimBytes = victim.usedBytes();
        String message = String.format(Locale.ROOT,
                "Query %s was killed by the overcommit tracker to free memory: memory limit (%s) of %s was reached "
                        + "while %s asked for %s; the query used %s, %.2f times its overcommit ratio denominator of %s, the largest ratio",
                victim.queryId(), owner.level().description(), DataSizes.binary(owner.hardLimitBytes()),
                requester == null ? "'" + owner.description() + "'" : "query " + requester.description(),
                DataSizes.binary(requiredBytes), DataSizes.binary(victimBytes), (double) victimBytes / denominatorBytes,
                DataSizes.binary(denominatorBytes));
        tree.recordOvercommitKill();
        LOG.log(Level.INFO, message);
        try {
            if (!tree.context().failQuery(victim.queryId(), ErrorCode.KILLED_BY_OVERCOMMIT, message)) {
                LOG.log(Level.DEBUG, "Overcommit victim " + victim.queryId() + " was already failed or unknown to the engine");
            }
        }
        catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Failing overcommit victim " + victim.queryId() + " threw", e);
        }
    }
}
