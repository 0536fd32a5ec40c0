package io.memgov.lab;

import io.memgov.spi.spill.RevocableConsumer;

import java.util.concurrent.CompletableFuture;

import static java.util.Objects.requireNonNull;

/**
 * An operator's side of memory revoking. The revoking scheduler's call only records the request (it must not block and
 * runs on the scheduler's thread); the operator's own thread serves it at its next batch boundary by spilling, so the
 * operator's memory is only ever touched by that thread. One request at a time; repeated requests share its future.
 */
final class RevokeRequests
        implements RevocableConsumer
{
    // spills everything the operator holds in revocable memory; runs on the operator's thread
    private final Runnable spill;

    // guarded by this
    private CompletableFuture<Void> request;
    private boolean accepting;

    RevokeRequests(boolean accepting, Runnable spill)
    {
        this.accepting = accepting;
        this.spill = requireNonNull(spill, "spill is null");
    }

    @Override
    public synchronized CompletableFuture<?> startMemoryRevoke()
    {
        if (!accepting) {
            // the input is complete (or the operator is gone): nothing revocable is held any more
            return CompletableFuture.completedFuture(null);
        }
        if (request == null) {
            request = new CompletableFuture<>();
        }
        return request;
    }

    /** Whether a revoke was requested and not yet served. */
    synchronized boolean isRequested()
    {
        return request != null;
    }

    /** Between batches, on the operator's thread: spills if a revoke was requested. */
    void serve()
    {
        serve(take(false));
    }

    /** The input is complete: no more revokes are accepted; one already requested is served now. */
    void stopAccepting()
    {
        serve(take(true));
    }

    /** The operator is gone: no more revokes; one already requested completes without spilling, nobody will serve it. */
    void cancel()
    {
        CompletableFuture<Void> pending = take(true);
        if (pending != null) {
            pending.complete(null);
        }
    }

    private synchronized CompletableFuture<Void> take(boolean stop)
    {
        if (stop) {
            accepting = false;
        }
        CompletableFuture<Void> pending = request;
        request = null;
        return pending;
    }

    private void serve(CompletableFuture<Void> pending)
    {
        if (pending == null) {
            return;
        }
        try {
            spill.run();
            pending.complete(null);
        }
        catch (RuntimeException e) {
            pending.completeExceptionally(e);
            throw e;
        }
    }
}
