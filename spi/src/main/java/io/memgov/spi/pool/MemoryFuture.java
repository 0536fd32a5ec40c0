package io.memgov.spi.pool;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Completes when the memory a caller waits for is available. Returned by reservations; shared by every caller
 * blocked on the same pool, so it cannot be cancelled or completed by them: {@code cancel}, {@code complete},
 * {@code completeExceptionally} and {@code obtrude*} throw {@link UnsupportedOperationException}. Only the pool that
 * created it completes it (through {@link #signal()}). Stages derived from it ({@code thenRun}, ...) are ordinary
 * {@link CompletableFuture}s.
 *
 * @since 1.0
 */
public final class MemoryFuture
        extends CompletableFuture<Void>
{
    /** A future that is already done: the caller need not wait. */
    public static final MemoryFuture NOT_BLOCKED = doneFuture();

    /** Creates a pending future for a pool to hand to blocked callers. */
    public static MemoryFuture pending()
    {
        return new MemoryFuture();
    }

    private static MemoryFuture doneFuture()
    {
        MemoryFuture future = new MemoryFuture();
        future.signal();
        return future;
    }

    /** Completes this future; called by the pool that created it when free bytes become positive. Idempotent. */
    public boolean signal()
    {
        return super.complete(null);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning)
    {
        throw new UnsupportedOperationException("cancellation is not supported");
    }

    @Override
    public boolean complete(Void value)
    {
        throw new UnsupportedOperationException("only the memory pool completes this future");
    }

    @Override
    public boolean completeExceptionally(Throwable ex)
    {
        throw new UnsupportedOperationException("only the memory pool completes this future");
    }

    @Override
    public void obtrudeValue(Void value)
    {
        throw new UnsupportedOperationException("only the memory pool completes this future");
    }

    @Override
    public void obtrudeException(Throwable ex)
    {
        throw new UnsupportedOperationException("only the memory pool completes this future");
    }

    @Override
    public CompletableFuture<Void> completeAsync(Supplier<? extends Void> supplier, Executor executor)
    {
        throw new UnsupportedOperationException("only the memory pool completes this future");
    }

    @Override
    public CompletableFuture<Void> completeOnTimeout(Void value, long timeout, TimeUnit unit)
    {
        throw new UnsupportedOperationException("only the memory pool completes this future");
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture()
    {
        return new CompletableFuture<>();
    }
}
