package io.memgov.engine.internal.revoke;

import io.memgov.engine.MemoryRevoker;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.node.OperatorContext;
import io.memgov.engine.internal.node.QueryContext;
import io.memgov.engine.internal.node.Revocation;
import io.memgov.engine.internal.node.TaskContext;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;



/**
 * Asks a node's operators to give back revocable memory when its pool fills, Trino's {@code MemoryRevokingScheduler}
 * with the choice of whom to ask left to the node's {@link SpillStrategy}. One per node, started with the engine and
 * stopped when it closes.
 *
 * <p><b>When.</b> A check runs after pool changes (the pool listener schedules at most one check at a time on the
 * executor; changes while one is queued are coalesced into it), after each revoke ends, and every
 * {@code checkInterval} (1 s in the engine). Revoking is needed when the pool's revocable bytes are positive and
 * {@code free <= max * (1 - threshold)}.
 *
 * <p><b>How much.</b> Enough to bring free memory back to {@code max * (1 - target)}: {@code -free + max * (1 -
 * target)}, minus the revocable bytes still held by operators already asked and not yet done. The strategy gets the
 * pool's snapshot, the operators that hold revocable memory and are not being revoked, and that amount. Each request
 * it returns is passed to {@link OperatorContext#requestRevocation()}; an operator asked once is not asked again
 * until its revoke finished.
 *
 * <p><b>Failures.</b> A revoke whose future fails fails the operator's query through {@link QueryFailer} (the engine
 * fails it on every node and tells its failure listeners), with the failure's {@link ErrorCode} when memory governance
 * raised it (a spill limit: {@link ErrorCode#EXCEEDED_SPILL_LIMIT}) and {@link ErrorCode#GENERIC_MEMORY_ERROR}
 * otherwise. A strategy that throws or names an unknown consumer is logged and skipped for that check.
 *
 * <p>Thread-safe; checks never overlap.
 */
public final class MemoryRevokingScheduler
        implements MemoryRevoker, AutoCloseable
{
    /** The engine's periodic check, as Trino's. */
    public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(1);

    private static final Duration RETRY_DELAY = Duration.ofMillis(5);
    // 5, 10, ... 160 ms: about 0.3 s of waiting for operators to commit, well under the 1 s tick
    private static final int MAX_DEFERRALS = 6;

    private static final Logger log = LoggerFactory.getLogger(MemoryRevokingScheduler.class);

    /** Fails a query everywhere it runs and tells the host; the engine's query failure path. */
    @FunctionalInterface
    public interface QueryFailer
    {
        boolean fail(QueryId queryId, ErrorCode errorCode, String message);
    }

    private final NodeMemoryManager node;
    private final SpillStrategy strategy;
    private final double threshold;
    private final double target;
    private final ScheduledExecutorService executor;
    private final Duration checkInterval;
    private final QueryFailer queryFailer;
    private final PolicyCallGuard guard;
    private final String strategyName;

    private final AtomicBoolean checkPending = new AtomicBoolean();
    // set while a deferred check waits to look again: pool events then join it instead of starting more checks
    private final AtomicBoolean retrying = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicLong checks = new AtomicLong();
    private final AtomicLong revokesRequested = new AtomicLong();
    private volatile boolean closed;
    private volatile ScheduledFuture<?> tick;

    /** A scheduler that calls its strategy on the checking thread, catching whatever it throws (tests). */
    public MemoryRevokingScheduler(NodeMemoryManager node, SpillStrategy strategy, double threshold, double target,
            ScheduledExecutorService executor, Duration checkInterval, QueryFailer queryFailer)
    {
        this(node, strategy, threshold, target, executor, checkInterval, queryFailer, new PolicyCallGuard(Duration.ZERO), "spill strategy " + strategy);
    }

    /**
     * @param guard bounds each call of the strategy ({@code policy.call-timeout})
     * @param strategyName names the strategy in logs
     */
    public MemoryRevokingScheduler(NodeMemoryManager node, SpillStrategy strategy, double threshold, double target,
            ScheduledExecutorService executor, Duration checkInterval, QueryFailer queryFailer, PolicyCallGuard guard, String strategyName)
    {
        this.guard = requireNonNull(guard, "guard is null");
        this.strategyName = requireNonNull(strategyName, "strategyName is null");
        this.node = requireNonNull(node, "node is null");
        this.strategy = requireNonNull(strategy, "strategy is null");
        this.executor = requireNonNull(executor, "executor is null");
        this.checkInterval = requireNonNull(checkInterval, "checkInterval is null");
        this.queryFailer = requireNonNull(queryFailer, "queryFailer is null");
        checkRatio("threshold", threshold);
        checkRatio("target", target);
        if (target > threshold) {
            throw new IllegalArgumentException("target " + target + " must not be above threshold " + threshold);
        }
        if (checkInterval.isNegative() || checkInterval.isZero()) {
            throw new IllegalArgumentException("checkInterval must be positive: " + checkInterval);
        }
        this.threshold = threshold;
        this.target = target;
    }

    /** Registers the pool listener and the periodic check. Once only. */
    public void start()
    {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("revoking scheduler of " + node.nodeId() + " is already started");
        }
        node.pool().addListener(this::onPoolChanged);
        node.directPool().ifPresent(direct -> direct.addListener(this::onPoolChanged));
        long intervalNanos = checkInterval.toNanos();
        tick = executor.scheduleWithFixedDelay(this::periodicCheck, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
        log.info("Started memory revoking on {}: threshold {}, target {}, strategy {}, check every {}",
                node.nodeId(), threshold, target, strategy, checkInterval);
    }

    @Override
    public NodeId nodeId()
    {
        return node.nodeId();
    }

    public NodeMemoryManager node()
    {
        return node;
    }

    /** Checks run so far, by any trigger. */
    public long checks()
    {
        return checks.get();
    }

    /** Revoke requests made so far. */
    public long revokesRequested()
    {
        return revokesRequested.get();
    }

    /** Runs one check now, on this thread (tests, and hosts that drive revoking themselves). */
    public void checkNow()
    {
        runCheck(false);
    }

    /**
     * True when the general pool, or the node's direct pool, holds revocable memory and its free memory is at or below
     * {@code max * (1 - threshold)}.
     */
    public boolean isRevokingNeeded()
    {
        return isRevokingNeeded(node.pool()) || node.directPool().map(this::isRevokingNeeded).orElse(false);
    }

    private boolean isRevokingNeeded(MemoryPool pool)
    {
        return pool.reservedRevocableBytes() > 0 && pool.freeBytes() <= fractionOf(pool.maxBytes(), 1.0 - threshold);
    }

    // rounded to whole bytes, so that 0.9 of 100 bytes leaves exactly 10 and not 9.999999999999998
    private static long fractionOf(long bytes, double fraction)
    {
        return Math.round(bytes * fraction);
    }

    private void onPoolChanged(MemoryPool pool)
    {
        // runs on every reservation: only the cheap test here, the traversal happens on the executor
        if (!closed && isRevokingNeeded(pool)) {
            scheduleCheck();
        }
    }

    private void scheduleCheck()
    {
        if (closed || retrying.get() || !checkPending.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.execute(() -> {
                checkPending.set(false);
                guardedCheck(0);
            });
        }
        catch (RejectedExecutionException e) {
            checkPending.set(false);
            log.debug("Revoking check on {} not scheduled: the engine's scheduler is shut down", node.nodeId());
        }
    }

    private void periodicCheck()
    {
        guardedCheck(MAX_DEFERRALS);
    }

    // a check that throws must not kill the periodic task nor the listener path
    private void guardedCheck(int deferrals)
    {
        boolean rescheduled = false;
        try {
            if (!runCheck(deferrals < MAX_DEFERRALS) && !closed) {
                // the pool tells its listeners before the operator commits its new bytes, so a check right after the
                // event can find less revocable memory on the operators than in the pool, and would choose from a
                // stale picture; it decides nothing and looks again, waiting longer each time (a preempted or paused
                // reserving thread may take a while to commit), and the last look decides regardless
                retrying.set(true);
                executor.schedule(() -> guardedCheck(deferrals + 1), RETRY_DELAY.toNanos() << deferrals, TimeUnit.NANOSECONDS);
                rescheduled = true;
            }
        }
        catch (RejectedExecutionException e) {
            log.debug("Revoking check on {} not rescheduled: the engine's scheduler is shut down", node.nodeId());
        }
        catch (Throwable e) {
            // an Error included: the periodic check and the listener path must survive anything one check throws
            log.warn("Memory revoking check on {} failed", node.nodeId(), e);
        }
        finally {
            if (!rescheduled && deferrals > 0) {
                retrying.set(false);
            }
        }
    }

    /** @return false if the check was deferred because the operators showed less revocable memory than the pool */
    private synchronized boolean runCheck(boolean deferIfBehind)
    {
        if (closed) {
            return true;
        }
        checks.incrementAndGet();
        // each pool against its own revocable memory: the heap's, then the direct pool's (the same threshold and target)
        boolean decided = checkPool(node.pool(), operator -> operator.revocableMemory().reservedBytes(), deferIfBehind);
        MemoryPool direct = node.directPool().orElse(null);
        if (direct != null) {
            decided &= checkPool(direct, operator -> operator.directRevocableMemory().reservedBytes(), deferIfBehind);
        }
        return decided;
    }

    /**
     * @param revocableOf an operator's revocable reservation in {@code pool}
     * @return false if the check was deferred because the operators showed less revocable memory than the pool
     */
    private boolean checkPool(MemoryPool pool, ToLongFunction<OperatorContext> revocableOf, boolean deferIfBehind)
    {
        if (!isRevokingNeeded(pool)) {
            return true;
        }
        MemoryPoolInfo snapshot = pool.info();
        long free = snapshot.freeBytes();
        long max = snapshot.maxBytes();

        long beingRevoked = 0;
        long seenRevocable = 0;
        long latestGrowth = Long.MIN_VALUE;
        OperatorContext latestGrower = null;
        Map<Long, OperatorContext> candidates = new HashMap<>();
        List<RevocableConsumerInfo> consumers = new ArrayList<>();
        List<OperatorContext> operators = new ArrayList<>();
        for (QueryContext query : node.queryContexts()) {
            for (TaskContext task : query.taskContexts()) {
                if (task.isFailed() || task.isClosed()) {
                    continue;
                }
                for (OperatorContext operator : task.operatorContexts()) {
                    long growth = operator.lastGrowthSequence();
                    if (growth != 0 && (latestGrower == null || growth - latestGrowth > 0)) {
                        latestGrowth = growth;
                        latestGrower = operator;
                    }
                    // what the pool gets back when the operator spills: its reservation, not only its bytes
                    long bytes = revocableOf.applyAsLong(operator);
                    seenRevocable += bytes;
                    if (operator.isMemoryRevokingRequested()) {
                        beingRevoked += bytes;
                    }
                    else if (bytes > 0) {
                        operators.add(operator);
                    }
                }
            }
        }
        if (deferIfBehind && seenRevocable < snapshot.reservedRevocableBytes()) {
            return false;
        }
        long bytesToRevoke = fractionOf(max, 1.0 - target) - free - beingRevoked;
        if (bytesToRevoke <= 0 || operators.isEmpty()) {
            log.debug("No revoke in pool '{}' of {}: free {} of {}, {} already being revoked, {} operators to ask",
                    pool.id(), node.nodeId(), succinct(free), succinct(max), succinct(beingRevoked), operators.size());
            return true;
        }
        for (OperatorContext operator : operators) {
            TaskContext task = operator.task();
            candidates.put(operator.id(), operator);
            consumers.add(new RevocableConsumerInfo(operator.id(), task.taskId(), operator.tag(), revocableOf.applyAsLong(operator),
                    task.createTime(), operator.id(), operator == latestGrower));
        }

        List<RevocableConsumerInfo> offered = List.copyOf(consumers);
        List<RevokeRequest> requests = guard.call(strategyName, "no revoke this round",
                () -> {
                    List<RevokeRequest> chosen = strategy.chooseConsumersToRevoke(snapshot, offered, bytesToRevoke);
                    // copied so that it cannot change under the check; null stays null for the guard to report
                    return chosen == null ? null : List.copyOf(chosen);
                }, null);
        if (requests == null) {
            return true;
        }
        List<String> asked = new ArrayList<>();
        long askedBytes = 0;
        for (RevokeRequest request : requests) {
            OperatorContext operator = candidates.remove(request.consumerId());
            if (operator == null) {
                log.warn("Spill strategy {} on {} asked to revoke consumer {}, which was not offered or was already asked this round; skipped",
                        strategy, node.nodeId(), request.consumerId());
                continue;
            }
            Revocation revocation = operator.requestRevocation().orElse(null);
            if (revocation == null) {
                // it released its memory, closed or was asked by someone else since the traversal
                continue;
            }
            revokesRequested.incrementAndGet();
            askedBytes += revocation.requestedBytes();
            asked.add(operator.task().taskId() + " " + operator.tag() + "=" + succinct(revocation.requestedBytes()));
            revocation.done().whenComplete((ignored, failure) -> revokeEnded(revocation, failure));
        }
        if (!asked.isEmpty()) {
            log.info("Revoking memory in pool '{}' of {}: free {} of {} (threshold {}, target {}), {} already being revoked, need {}; {} asked {} of {} operators for {}: {}",
                    pool.id(), node.nodeId(), succinct(free), succinct(max), threshold, target, succinct(beingRevoked), succinct(bytesToRevoke),
                    strategy, asked.size(), consumers.size(), succinct(askedBytes), asked);
        }
        else {
            log.debug("No revoke on {}: strategy {} chose none of {} operators for {}", node.nodeId(), strategy, consumers.size(), succinct(bytesToRevoke));
        }
        return true;
    }

    /**
     * Asks every operator that holds revocable memory and is not being revoked to give all of it back, without asking
     * the strategy: an emergency (the JVM under GC pressure), not the routine trim to the target.
     *
     * @param reason why, for the log
     * @return how many operators were asked
     */
    public synchronized int revokeAll(String reason)
    {
        if (closed) {
            return 0;
        }
        List<String> asked = new ArrayList<>();
        long askedBytes = 0;
        for (QueryContext query : node.queryContexts()) {
            for (TaskContext task : query.taskContexts()) {
                if (task.isFailed() || task.isClosed()) {
                    continue;
                }
                for (OperatorContext operator : task.operatorContexts()) {
                    if (operator.isMemoryRevokingRequested() || operator.revocableMemory().reservedBytes() + operator.directRevocableMemory().reservedBytes() <= 0) {
                        continue;
                    }
                    Revocation revocation = operator.requestRevocation().orElse(null);
                    if (revocation == null) {
                        continue;
                    }
                    revokesRequested.incrementAndGet();
                    askedBytes += revocation.requestedBytes();
                    asked.add(task.taskId() + " " + operator.tag() + "=" + succinct(revocation.requestedBytes()));
                    revocation.done().whenComplete((ignored, failure) -> revokeEnded(revocation, failure));
                }
            }
        }
        if (!asked.isEmpty()) {
            log.info("Revoking all revocable memory on {} ({}): asked {} operators for {}: {}", node.nodeId(), reason, asked.size(), succinct(askedBytes), asked);
        }
        return asked.size();
    }

    private void revokeEnded(Revocation revocation, Throwable failure)
    {
        failQueryIfRevokeFailed(revocation, failure, queryFailer, strategyName);
        // what was given back may still leave the pool short, and no pool event may follow
        scheduleCheck();
    }

    /**
     * What any revoke's end means for its query (the revoking scheduler's and arbitration's alike): a revoke that failed
     * (not one cancelled) fails the operator's query, with the governance error it carried or a generic one.
     *
     * @param askedBy who asked for the revoke, for the log
     */
    public static void failQueryIfRevokeFailed(Revocation revocation, Throwable failure, QueryFailer queryFailer, String askedBy)
    {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (cause == null || cause instanceof CancellationException) {
            return;
        }
        OperatorContext operator = revocation.operator();
        QueryId queryId = operator.task().query().queryId();
        ErrorCode errorCode = cause instanceof MemoryGovernanceException governance ? governance.errorCode() : ErrorCode.GENERIC_MEMORY_ERROR;
        String message = cause instanceof MemoryGovernanceException
                ? cause.getMessage()
                : "Memory revoke of operator " + operator.tag() + " in task " + operator.task().taskId() + " failed: " + cause;
        log.info("Memory revoke of {} {} asked by {} failed; failing query {} with {}", operator.task().taskId(), operator.tag(), askedBy, queryId, errorCode, cause);
        queryFailer.fail(queryId, errorCode, message);
    }

    /** Stops the periodic check and the listener path; revokes in flight run to their end. Idempotent. */
    @Override
    public void close()
    {
        closed = true;
        ScheduledFuture<?> scheduled = tick;
        if (scheduled != null) {
            scheduled.cancel(false);
        }
    }

    private static void checkRatio(String name, double value)
    {
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1]: " + value);
        }
    }

    @Override
    public String toString()
    {
        return "MemoryRevokingScheduler{" + node.nodeId() + ", threshold=" + threshold + ", target=" + target + ", strategy=" + strategy + "}";
    }
}
