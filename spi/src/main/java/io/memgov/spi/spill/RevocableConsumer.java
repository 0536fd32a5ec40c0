package io.memgov.spi.spill;

import java.util.concurrent.CompletableFuture;

/**
 * The operator's side of revocable memory: asked by the revoking scheduler to give its revocable memory back,
 * usually by spilling it to disk.
 *
 * <p>{@link #startMemoryRevoke()} is called once per request, on a scheduler thread; the consumer starts releasing
 * <em>all</em> its revocable memory (tolerating having none) and returns a future that completes when it is done.
 * {@link #finishMemoryRevoke()} is then called once, after the future completed, on the thread that completed it.
 * A consumer is never asked again while a revoke is in flight.
 *
 * @since 1.0
 */
public interface RevocableConsumer
{
    /** Starts releasing revocable memory; never null. A failed future fails the consumer's query. */
    CompletableFuture<?> startMemoryRevoke();

    /** Called once after the future from {@link #startMemoryRevoke()} completed normally. */
    default void finishMemoryRevoke() {}
}
