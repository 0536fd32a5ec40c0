package io.memgov.engine;

import java.util.concurrent.CompletableFuture;

/**
 * One request to an operator to give back its revocable memory, from {@link OperatorMemoryContext#requestRevocation()}.
 *
 * <p>{@link #done()} completes normally once the operator's {@link io.memgov.spi.spill.RevocableConsumer} finished
 * ({@code finishMemoryRevoke} returned), or, for an operator without a consumer, once its revocable memory dropped
 * to zero; exceptionally with the consumer's failure; and is cancelled when the operator closed, was
 * garbage-collected, or its query or task was killed before the revoke finished. Holding a revocation keeps its
 * operator's handle reachable. Thread-safe.
 */
public interface MemoryRevocation
{
    OperatorMemoryContext operator();

    /** The operator's revocable bytes when it was asked; positive. */
    long requestedBytes();

    /** A view of the outcome; completing or cancelling the view does not affect the revocation. */
    CompletableFuture<Void> done();
}
