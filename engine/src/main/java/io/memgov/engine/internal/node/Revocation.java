package io.memgov.engine.internal.node;

import io.memgov.engine.MemoryRevocation;

import java.util.concurrent.CompletableFuture;

import static java.util.Objects.requireNonNull;

/**
 * One request to an operator to give back its revocable memory, from {@link OperatorContext#requestRevocation()}.
 *
 * <p>{@link #done()} completes normally once the operator's {@link io.memgov.spi.spill.RevocableConsumer} finished
 * ({@code finishMemoryRevoke} returned), or, for an operator without a consumer, once its revocable memory dropped
 * to zero; exceptionally with the consumer's failure; and is cancelled when the operator closed, was
 * garbage-collected, or its query or task was killed before the revoke finished. Holding a revocation keeps its
 * operator's handle reachable. Thread-safe.
 */
public final class Revocation
        implements MemoryRevocation
{
    private final OperatorContext operator;
    private final long requestedBytes;
    // follows the operator state's request through a weak link, so that listeners here never pin the operator
    final CompletableFuture<Void> done = new CompletableFuture<>();

    Revocation(OperatorContext operator, long requestedBytes)
    {
        this.operator = requireNonNull(operator, "operator is null");
        this.requestedBytes = requestedBytes;
    }

    public OperatorContext operator()
    {
        return operator;
    }

    /** The operator's revocable bytes when it was asked; positive. */
    public long requestedBytes()
    {
        return requestedBytes;
    }

    /** A view of the outcome; completing or cancelling the view does not affect the revocation. */
    public CompletableFuture<Void> done()
    {
        return done.copy();
    }

    @Override
    public String toString()
    {
        return "Revocation{" + operator.task().taskId() + " " + operator.tag() + ", requested=" + requestedBytes + "B}";
    }
}
