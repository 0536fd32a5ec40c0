package io.memgov.engine.internal.arbitration;

import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.engine.internal.node.BlockedReservationListener;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.node.OperatorContext;
import io.memgov.engine.internal.node.QueryContext;
import io.memgov.engine.internal.node.Revocation;
import io.memgov.engine.internal.node.TaskContext;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler.QueryFailer;
import io.memgov.spi.arbitration.ArbitrationCandidate;
import io.memgov.spi.arbitration.ArbitrationPlan;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.arbitration.ArbitrationStep;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * A node's arbitration: when a reservation leaves a pool without room, the node's {@link MemoryArbitrator} plans at
 * once, on this node's arbitration thread, and the plan's steps run here, in order, until the pool has room again (its
 * blocked futures complete) or the requester is gone. One arbitration per node at a time: requesters that block
 * meanwhile queue and are taken in turn, each skipped if the pool already made room for it.
 *
 * <p>The thread exists only while there is work: it ends after a minute idle. Waits are bounded by the steps'
 * timeouts, and {@link #close()} ends them.
 */
public final class NodeArbitration
        implements BlockedReservationListener, AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(NodeArbitration.class);
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final NodeMemoryManager node;
    private final MemoryArbitrator arbitrator;
    private final String policy;
    private final PolicyCallGuard guard;
    private final QueryFailer failer;
    private final Clock clock;
    private final ArbitrationStatistics statistics;
    private final Queue<Blocked> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean();
    // set while a pause step waits: a paused node is waiting for memory others free, which the cluster loop's killers
    // may do (Doris's memory GC cancels the largest queries while queries sit in its paused queue)
    private volatile boolean pausing;
    private final ThreadPoolExecutor executor;
    // completed by close(), so that a step waiting on it ends at once
    private final CompletableFuture<Void> closing = new CompletableFuture<>();

    /**
     * @param name the arbitrator's name, for logs and failure messages
     * @param failer fails a query everywhere it runs (the engine's failure path)
     */
    public NodeArbitration(NodeMemoryManager node, MemoryArbitrator arbitrator, String name, PolicyCallGuard guard, QueryFailer failer, Clock clock,
            ArbitrationStatistics statistics)
    {
        this.node = requireNonNull(node, "node is null");
        this.arbitrator = requireNonNull(arbitrator, "arbitrator is null");
        this.policy = "memory arbitrator '" + requireNonNull(name, "name is null") + "' of " + node.nodeId();
        this.guard = requireNonNull(guard, "guard is null");
        this.failer = requireNonNull(failer, "failer is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.statistics = requireNonNull(statistics, "statistics is null");
        String threadName = "memgov-arbitration-" + node.nodeId();
        this.executor = new ThreadPoolExecutor(0, 1, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(), task -> {
            Thread thread = new Thread(task, threadName);
            thread.setDaemon(true);
            return thread;
        });
    }

    public String policyName()
    {
        return policy;
    }

    /** Whether an arbitration runs or is about to (tests). */
    boolean isRunning()
    {
        return running.get();
    }

    /**
     * True while a plan reclaims, revokes or kills here (or a requester waits for one to): a kill from the cluster loop
     * then would be a second victim for one shortage. False while a pause waits: nothing is being done on the node
     * that the loop could duplicate, and queries paused on each other free nothing until a kill. With the none
     * arbitrator nothing is queued and nothing runs.
     */
    @Override
    public boolean arbitrating()
    {
        return !pausing && (running.get() || !waiting.isEmpty());
    }

    public ArbitrationStatistics statistics()
    {
        return statistics;
    }

    @Override
    public void reservationBlocked(QueryId queryId, long bytes, MemoryFuture future)
    {
        if (closing.isDone()) {
            return;
        }
        long blockedNanos = System.nanoTime();
        statistics.blocked();
        future.whenComplete((ignored, failure) -> statistics.relieved(System.nanoTime() - blockedNanos));
        if (arbitrator == MemoryArbitrator.NONE) {
            // Trino's behaviour: the requester waits for a free or for the cluster loop's killers; nothing to plan
            return;
        }
        waiting.add(new Blocked(queryId, bytes, future));
        startIfIdle();
    }

    private void startIfIdle()
    {
        if (!closing.isDone() && running.compareAndSet(false, true)) {
            try {
                executor.execute(this::drain);
            }
            catch (RejectedExecutionException e) {
                // closed meanwhile: the waiting requesters are left to the pool and the cluster loop, as without arbitration
                running.set(false);
            }
        }
    }

    private void drain()
    {
        try {
            Blocked next;
            while (!closing.isDone() && (next = waiting.poll()) != null) {
                Optional<QueryContext> requester = node.queryContext(next.queryId());
                if (next.future().isDone() || requester.isEmpty() || requester.get().failure().isPresent()) {
                    // the pool made room meanwhile, or the requester is gone and so is what it held
                    continue;
                }
                arbitrate(next, requester.get());
            }
        }
        catch (RuntimeException | Error e) {
            // the thread must go on for later requesters; what was planned so far stays done
            log.error("Arbitration on {} failed", node.nodeId(), e);
        }
        finally {
            running.set(false);
            // a requester added after the last poll and before the flag dropped would otherwise wait for the next one
            if (!waiting.isEmpty()) {
                startIfIdle();
            }
        }
    }

    private void arbitrate(Blocked blocked, QueryContext requester)
    {
        MemoryPool pool = requester.pool();
        ArbitrationRequest request = new ArbitrationRequest(node.nodeId(), blocked.queryId(), blocked.bytes(), pool.info(), candidates(), clock.instant());
        statistics.arbitrated();
        ArbitrationPlan plan = guard.call(policy, "the requester waits", () -> arbitrator.arbitrate(request), ArbitrationPlan.WAIT);
        List<String> done = new ArrayList<>();
        for (ArbitrationStep step : plan.steps()) {
            if (relieved(blocked, requester)) {
                break;
            }
            if (step == null) {
                log.warn("The {} planned a null step for {}; skipped", policy, blocked.queryId());
                continue;
            }
            if (!run(step, blocked, requester, request, done)) {
                break;
            }
        }
        if (!done.isEmpty()) {
            log.info("Arbitration on {} for {} asking {} ({}): {}; {}", node.nodeId(), blocked.queryId(), succinct(blocked.bytes()), policy, String.join(", ", done),
                    relieved(blocked, requester) ? "relieved" : "still waiting");
        }
    }

    private boolean relieved(Blocked blocked, QueryContext requester)
    {
        return blocked.future().isDone() || requester.failure().isPresent() || closing.isDone();
    }

    /** @return false if the plan ends here */
    private boolean run(ArbitrationStep step, Blocked blocked, QueryContext requester, ArbitrationRequest request, List<String> done)
    {
        if (step instanceof ArbitrationStep.Reclaim) {
            long freed = node.trimReservations();
            statistics.reclaimed(freed);
            done.add("reclaimed " + succinct(freed));
            return true;
        }
        if (step instanceof ArbitrationStep.Revoke revoke) {
            revoke(revoke, blocked, requester, done);
            return true;
        }
        if (step instanceof ArbitrationStep.Pause pause) {
            statistics.paused();
            long start = System.nanoTime();
            pausing = true;
            try {
                await(blocked.future(), pause.timeout(), blocked, requester);
            }
            finally {
                pausing = false;
            }
            done.add("paused " + Duration.ofNanos(System.nanoTime() - start).toMillis() + " ms");
            return true;
        }
        if (step instanceof ArbitrationStep.Kill kill) {
            kill(kill, blocked, requester, request, done);
            return true;
        }
        if (step instanceof ArbitrationStep.Fail fail) {
            statistics.failed();
            done.add("failed the requester");
            failer.fail(requester.queryId(), ErrorCode.MEMORY_ARBITRATION_FAILED, message(fail.reason(), blocked, done));
            return false;
        }
        log.warn("The {} planned an unknown step {}; skipped", policy, step);
        return true;
    }

    private void revoke(ArbitrationStep.Revoke revoke, Blocked blocked, QueryContext requester, List<String> done)
    {
        Map<Long, OperatorContext> operators = new HashMap<>();
        for (QueryContext query : node.queryContexts()) {
            for (TaskContext task : query.taskContexts()) {
                for (OperatorContext operator : task.operatorContexts()) {
                    operators.put(operator.id(), operator);
                }
            }
        }
        List<CompletableFuture<Void>> revokes = new ArrayList<>();
        long askedBytes = 0;
        Set<Long> seen = new HashSet<>();
        for (Long consumerId : revoke.consumerIds()) {
            OperatorContext operator = consumerId == null || !seen.add(consumerId) ? null : operators.get(consumerId);
            if (operator == null) {
                log.debug("The {} asked to revoke consumer {}, which is not on {} or was named twice; skipped", policy, consumerId, node.nodeId());
                continue;
            }
            Optional<Revocation> revocation = operator.requestRevocation();
            if (revocation.isEmpty()) {
                // it holds no revocable memory, or is being revoked already
                continue;
            }
            askedBytes += revocation.get().requestedBytes();
            revokes.add(revocation.get().done().whenComplete((ignored, failure) -> MemoryRevokingScheduler.failQueryIfRevokeFailed(revocation.get(), failure, failer, policy)));
        }
        statistics.revoked(revokes.size(), askedBytes);
        if (revokes.isEmpty()) {
            done.add("no consumer to revoke");
            return;
        }
        long start = System.nanoTime();
        await(CompletableFuture.allOf(revokes.toArray(CompletableFuture[]::new)), revoke.timeout(), blocked, requester);
        done.add(String.format("revoked %s of %s consumers (%s ms)", succinct(askedBytes), revokes.size(), Duration.ofNanos(System.nanoTime() - start).toMillis()));
    }


    private void kill(ArbitrationStep.Kill kill, Blocked blocked, QueryContext requester, ArbitrationRequest request, List<String> done)
    {
        Optional<QueryContext> victim = node.queryContext(kill.queryId());
        if (victim.isEmpty() || victim.get().failure().isPresent()) {
            log.info("The {} asked to kill query {}, which no longer runs on {}; skipped", policy, kill.queryId(), node.nodeId());
            return;
        }
        long held = request.queries().stream().filter(query -> query.queryId().equals(kill.queryId())).mapToLong(ArbitrationCandidate::totalBytes).findFirst().orElse(0);
        done.add("killed " + kill.queryId() + " holding " + succinct(held));
        // counted only if this call failed it: another node's arbitration or the cluster loop may have been first
        if (failer.fail(kill.queryId(), ErrorCode.MEMORY_ARBITRATION_FAILED, message(kill.reason(), blocked, done))) {
            statistics.killed(held);
        }
        await(blocked.future(), kill.timeout(), blocked, requester);
    }

    private String message(String reason, Blocked blocked, List<String> done)
    {
        return String.format("%s (%s; %s asked for %s; steps: %s)", reason, policy, blocked.queryId(), succinct(blocked.bytes()), String.join(", ", done));
    }

    /** Every query holding memory on the node, largest first, with what each step could get back from it. */
    private List<ArbitrationCandidate> candidates()
    {
        List<ArbitrationCandidate> candidates = new ArrayList<>();
        for (QueryContext query : node.queryContexts()) {
            if (query.failure().isPresent() || query.isClosed()) {
                continue;
            }
            List<RevocableConsumerInfo> consumers = new ArrayList<>();
            for (TaskContext task : query.taskContexts()) {
                if (task.isFailed() || task.isClosed()) {
                    continue;
                }
                for (OperatorContext operator : task.operatorContexts()) {
                    long revocable = operator.revocableMemory().reservedBytes();
                    if (revocable > 0 && !operator.isMemoryRevokingRequested()) {
                        consumers.add(new RevocableConsumerInfo(operator.id(), task.taskId(), operator.tag(), revocable, task.createTime(), operator.id(), false));
                    }
                }
            }
            long user = Math.max(0, query.userBytes()) + Math.max(0, query.systemBytes());
            long revocable = Math.max(0, query.revocableBytes());
            long unused = node.unusedReservationBytes(query.queryId());
            if (user + revocable + unused == 0 && consumers.isEmpty()) {
                continue;
            }
            candidates.add(new ArbitrationCandidate(query.queryId(), query.session().user(), query.session().priority(), query.startTime(), user, revocable, unused, consumers));
        }
        candidates.sort(Comparator.comparingLong(ArbitrationCandidate::totalBytes).reversed());
        return candidates;
    }

    /**
     * Waits for {@code future}, the timeout or close(), whichever comes first, and ends early once the requester no
     * longer needs room (it was killed meanwhile, or the pool made room): looking again every 50 ms, since a query's
     * failure completes no future.
     */
    private void await(CompletableFuture<?> future, Duration timeout, Blocked blocked, QueryContext requester)
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        CompletableFuture<Object> any = CompletableFuture.anyOf(future, closing);
        while (!relieved(blocked, requester)) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return;
            }
            try {
                any.get(Math.min(remaining, RECHECK_NANOS), TimeUnit.NANOSECONDS);
                return;
            }
            catch (TimeoutException e) {
                // look at the requester again
            }
            catch (ExecutionException e) {
                // what the step waited on failed (a revoke): the next step runs
                return;
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closing.complete(null);
                return;
            }
        }
    }

    /** Ends waiting steps and stops the thread; requesters still blocked are left to the pool and the cluster loop. Idempotent. */
    @Override
    public void close()
    {
        closing.complete(null);
        executor.shutdownNow();
        waiting.clear();
    }

    @Override
    public String toString()
    {
        return "NodeArbitration{" + policy + "}";
    }

    private record Blocked(QueryId queryId, long bytes, MemoryFuture future) {}
}
