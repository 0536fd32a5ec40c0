package io.memgov.engine.internal.node;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * A query's direct bytes on one node and {@code query.max-direct-memory-per-node}, checked as {@link QueryLimits}
 * checks the heap's limits: add first, undo on failure, so two tasks racing for the last bytes cannot both pass. Kept
 * apart from the heap's counters: direct memory counts toward neither the user nor the total per-node limit, and a
 * node without a direct pool has none of these. Lock-free.
 */
final class QueryDirectLimit
{
    private final String owner;
    private final long maxBytes;
    private final Supplier<Map<String, Long>> topConsumers;
    private final AtomicLong bytes = new AtomicLong();
    // revocable direct bytes: no limit, as Trino's revocable memory has none (it can always be taken back)
    private final AtomicLong revocableBytes = new AtomicLong();

    /**
     * @param owner the query and node, as messages name them
     * @param maxBytes the limit, or {@link Long#MAX_VALUE} for none
     * @param topConsumers the query's largest holders of direct memory by tag, largest first
     */
    QueryDirectLimit(String owner, long maxBytes, Supplier<Map<String, Long>> topConsumers)
    {
        this.owner = requireNonNull(owner, "owner is null");
        this.maxBytes = maxBytes;
        this.topConsumers = requireNonNull(topConsumers, "topConsumers is null");
    }

    long maxBytes()
    {
        return maxBytes;
    }

    long bytes()
    {
        return bytes.get();
    }

    /**
     * Adds {@code delta} if the limit still holds.
     *
     * @return false if the limit refused and {@code orThrow} is false; nothing changed then
     * @throws MemoryLimitExceededException with {@link ErrorCode#EXCEEDED_LOCAL_DIRECT_MEMORY_LIMIT} if the limit
     *         refused and {@code orThrow} is true; nothing changed
     * @throws IllegalArgumentException if the counter would overflow; nothing changed
     */
    boolean claim(long delta, boolean orThrow)
    {
        long current = bytes.get();
        while (true) {
            long next = current + delta;
            if (delta > 0 && next < current) {
                throw new IllegalArgumentException(String.format(
                        "Cannot reserve %s bytes of direct memory for %s: the query's direct bytes there (%s) would overflow a long; nothing was reserved",
                        delta, owner, current));
            }
            if (delta > 0 && next > maxBytes) {
                if (orThrow) {
                    throw exceeded(current, delta);
                }
                return false;
            }
            long witness = bytes.compareAndExchange(current, next);
            if (witness == current) {
                return true;
            }
            current = witness;
        }
    }

    /** Releases, or takes back a claim. */
    void unclaim(long delta)
    {
        bytes.addAndGet(-delta);
    }

    long revocableBytes()
    {
        return revocableBytes.get();
    }

    /** Adds (or, negative, releases) revocable direct bytes; never refused. */
    void addRevocable(long delta)
    {
        revocableBytes.addAndGet(delta);
    }

    private MemoryLimitExceededException exceeded(long allocated, long delta)
    {
        return QueryLimits.exceeded(ErrorCode.EXCEEDED_LOCAL_DIRECT_MEMORY_LIMIT, "per-node direct memory limit", maxBytes, allocated, delta, topConsumers.get());
    }

    @Override
    public String toString()
    {
        return "direct=" + bytes + ", directRevocable=" + revocableBytes;
    }
}
