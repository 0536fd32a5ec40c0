package io.memgov.engine.internal.node;

import java.lang.ref.WeakReference;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * The engine's side of one revoke request: what the operator's {@link RevokeHandshake} needs to start, finish or
 * cancel it. Holds nothing that reaches the operator's handle, so that a pending request never keeps a forgotten
 * operator alive.
 */
final class PendingRevoke
{
    final long requestedBytes;
    // completed by the handshake; the public Revocation's future follows it through a weak link
    final CompletableFuture<Void> done = new CompletableFuture<>();
    // the rest is guarded by the handshake's lock
    boolean started;
    boolean cancelled;
    // weak: the host's spill work holds the future it will complete; the state only needs it to cancel
    WeakReference<CompletableFuture<?>> consumerFuture;

    PendingRevoke(long requestedBytes)
    {
        this.requestedBytes = requestedBytes;
    }

    CompletableFuture<?> consumerFuture()
    {
        return consumerFuture == null ? null : consumerFuture.get();
    }

    /**
     * Completes {@code target} as {@link #done} completes, without keeping it reachable: the target and whatever
     * listens to it (the revoking scheduler's callback, which holds the operator's handle) live as long as the
     * handle does, not as long as this request.
     */
    void forwardTo(CompletableFuture<Void> target)
    {
        WeakReference<CompletableFuture<Void>> weak = new WeakReference<>(target);
        done.whenComplete((ignored, failure) -> {
            CompletableFuture<Void> future = weak.get();
            if (future == null) {
                // the handle and its listeners were collected; the cleaner cancelled this request
                return;
            }
            if (failure == null) {
                future.complete(null);
            }
            else if (failure instanceof CancellationException) {
                future.cancel(false);
            }
            else {
                future.completeExceptionally(failure);
            }
        });
    }
}
