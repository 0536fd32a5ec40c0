package io.memgov.engine.internal.guard;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.Objects.requireNonNull;

/**
 * Calls the policies the engine consults periodically (killers, the leak detector, spill strategies, the pool
 * assigner) so that no policy can stop the engine: whatever a call throws, an {@link Error} included, and a call that
 * does not return within {@code policy.call-timeout}, gives the caller's fallback instead. A call that timed out is
 * abandoned (interrupted, and left to end on its own thread); until it ends, further calls to the same policy get the
 * fallback at once, so a policy that blocks forever holds one thread, not one per round.
 *
 * <p>Each use of a policy (the policy and what its caller falls back to) that fails is logged once, at ERROR with its
 * cause; repeats are logged at DEBUG until that use answers again, which is logged at INFO. With a zero timeout calls run on the caller's thread (nothing bounds their
 * time, but what they throw is still caught).
 *
 * <p>Thread-safe. {@link #close()} interrupts the calls still running and returns at once.
 */
public final class PolicyCallGuard
        implements AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(PolicyCallGuard.class);

    private final Duration timeout;
    private final ThreadPoolExecutor executor;
    // per policy: set while an abandoned call is still running (a cancelled Future reads done at once, so it cannot tell)
    private final Map<String, AtomicBoolean> abandoned = new ConcurrentHashMap<>();
    // per use of a policy: the failure last logged at ERROR, until that use answers again
    private final Map<String, String> failing = new ConcurrentHashMap<>();

    public PolicyCallGuard(Duration timeout)
    {
        requireNonNull(timeout, "timeout is null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout is negative: " + timeout);
        }
        this.timeout = timeout;
        AtomicInteger threads = new AtomicInteger();
        // threads are made on demand and end after a minute idle: most rounds make a handful of calls
        executor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), runnable -> {
            Thread thread = new Thread(runnable, "memgov-policy-call-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    public Duration timeout()
    {
        return timeout;
    }

    /** A check of what a policy returned: the problem with {@code value}, or null if it is usable. */
    @FunctionalInterface
    public interface Check<T>
    {
        String problemWith(T value);
    }

    /** As {@link #call(String, String, Callable, Check, Object)}, with a result that only has to be non-null. */
    public <T> T call(String policy, String what, Callable<T> call, T fallback)
    {
        return call(policy, what, call, value -> value == null ? "it returned null" : null, fallback);
    }

    /**
     * Calls {@code call}, or gives {@code fallback} if it throws, does not return within the timeout, returns what
     * {@code check} finds a problem with, or the policy's previous call was abandoned and is still running.
     *
     * @param policy names the policy in logs, e.g. {@code "query killer 'total-reservation'"}; also the key that
     * tells one policy's abandoned call from another's
     * @param what what the caller does with the fallback, for the log, e.g. {@code "no kill this round"}; with
     * {@code policy}, it also tells one use of a policy from another for logging once, so keep it the same every round
     */
    public <T> T call(String policy, String what, Callable<T> call, Check<? super T> check, T fallback)
    {
        requireNonNull(policy, "policy is null");
        requireNonNull(call, "call is null");
        requireNonNull(check, "check is null");
        if (timeout.isZero()) {
            return callHere(policy, what, call, check, fallback);
        }
        AtomicBoolean stuck = abandoned.get(policy);
        if (stuck != null) {
            if (stuck.get()) {
                // the timeout that abandoned the call was logged at ERROR; this is the same failure going on
                log.debug("The {} is still running an abandoned call; {}", policy, what);
                return fallback;
            }
            abandoned.remove(policy, stuck);
        }
        AtomicBoolean running = new AtomicBoolean(true);
        Future<T> future;
        try {
            future = executor.submit(() -> {
                try {
                    return call.call();
                }
                finally {
                    running.set(false);
                }
            });
        }
        catch (RejectedExecutionException e) {
            // the engine is closing
            return fallback;
        }
        T result;
        try {
            result = future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            failed(policy, what, "it threw " + cause, cause);
            return fallback;
        }
        catch (TimeoutException e) {
            future.cancel(true);
            if (running.get()) {
                abandoned.put(policy, running);
            }
            failed(policy, what, "it did not return within " + timeout.toMillis() + " ms (policy.call-timeout); the call was abandoned", null);
            return fallback;
        }
        catch (CancellationException e) {
            // close() interrupted it
            return fallback;
        }
        catch (InterruptedException e) {
            // the caller is being stopped: leave the policy's call to end on its own
            future.cancel(true);
            Thread.currentThread().interrupt();
            return fallback;
        }
        return checked(policy, what, result, check, fallback);
    }

    /** Runs {@code action} as {@link #call} does a call (bounded, nothing thrown escapes); false if it failed. */
    public boolean run(String policy, String what, Runnable action)
    {
        requireNonNull(action, "action is null");
        return call(policy, what, () -> {
            action.run();
            return Boolean.TRUE;
        }, Boolean.FALSE);
    }

    private <T> T checked(String policy, String what, T result, Check<? super T> check, T fallback)
    {
        String problem;
        try {
            problem = check.problemWith(result);
        }
        catch (RuntimeException e) {
            // the check reads what the policy returned, which may be broken in ways no check foresees
            problem = "it returned something unusable (" + e + ")";
        }
        if (problem != null) {
            failed(policy, what, problem, null);
            return fallback;
        }
        answered(policy, what);
        return result;
    }

    private <T> T callHere(String policy, String what, Callable<T> call, Check<? super T> check, T fallback)
    {
        T result;
        try {
            result = call.call();
        }
        catch (Throwable e) {
            // an Error included: a plugin linked against a class its loader cannot see must not stop the engine
            failed(policy, what, "it threw " + e, e);
            return fallback;
        }
        return checked(policy, what, result, check, fallback);
    }

    private void answered(String policy, String what)
    {
        if (failing.remove(policy + ": " + what) != null) {
            log.info("The {} answers again", policy);
        }
    }

    private void failed(String policy, String what, String how, Throwable cause)
    {
        if (failing.put(policy + ": " + what, how) == null) {
            log.error("The {} failed: {}; {}. Repeats are logged at DEBUG until it answers again", policy, how, what, cause);
        }
        else if (log.isDebugEnabled()) {
            log.debug("The {} failed again: {}; {}", policy, how, what, cause);
        }
    }

    /** True while some call of {@code policy} was abandoned and has not returned. */
    public boolean isStuck(String policy)
    {
        AtomicBoolean stuck = abandoned.get(policy);
        return stuck != null && stuck.get();
    }

    /** Interrupts the calls still running and returns without waiting for them. Idempotent. */
    @Override
    public void close()
    {
        executor.shutdownNow();
    }
}
