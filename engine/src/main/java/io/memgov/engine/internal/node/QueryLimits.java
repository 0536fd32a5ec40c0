package io.memgov.engine.internal.node;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * A query's per-node limits and the counters they are checked against: its user, system and revocable bytes on the
 * node, and the peak of their sum. A limit is checked by adding first and undoing on failure, so two tasks of the
 * query racing for the last bytes cannot both pass. A growth that would take a counter past {@code Long.MAX_VALUE}
 * (possible where no limit applies: revocable memory, system memory without a total limit, user memory of a
 * {@code retry_policy=TASK} query) is refused before it is added. Lock-free.
 */
final class QueryLimits
{
    // "query q1 on node node-0", for messages
    private final String owner;
    private final long maxUserBytes;
    private final long maxTotalBytes;
    private final long maxRevocableBytes;
    private final long maxBroadcastBytes;
    // the query's largest user-memory holders by tag, for the message of a refusal only
    private final Supplier<Map<String, Long>> topConsumers;
    private final AtomicLong userBytes = new AtomicLong();
    private final AtomicLong systemBytes = new AtomicLong();
    private final AtomicLong revocableBytes = new AtomicLong();
    // a part of userBytes: what the query's broadcast operators hold
    private final AtomicLong broadcastBytes = new AtomicLong();
    private final AtomicLong peakTotalBytes = new AtomicLong();

    /**
     * @param owner the query and node, as messages name them
     * @param maxUserBytes the user-memory limit
     * @param maxTotalBytes the user+system limit, or {@link Long#MAX_VALUE} for none
     * @param maxRevocableBytes the revocable limit (Presto's), or {@link Long#MAX_VALUE} for none (Trino's)
     * @param maxBroadcastBytes the limit of the broadcast operators' user memory (Presto's), or {@link Long#MAX_VALUE}
     *        for none (Trino's)
     * @param topConsumers the query's largest holders of user and system memory by tag, largest first: the few a
     *        message names
     */
    QueryLimits(String owner, long maxUserBytes, long maxTotalBytes, long maxRevocableBytes, long maxBroadcastBytes,
            Supplier<Map<String, Long>> topConsumers)
    {
        this.owner = requireNonNull(owner, "owner is null");
        this.maxUserBytes = maxUserBytes;
        this.maxTotalBytes = maxTotalBytes;
        this.maxRevocableBytes = maxRevocableBytes;
        this.maxBroadcastBytes = maxBroadcastBytes;
        this.topConsumers = requireNonNull(topConsumers, "topConsumers is null");
    }

    long maxUserBytes()
    {
        return maxUserBytes;
    }

    long maxTotalBytes()
    {
        return maxTotalBytes;
    }

    long userBytes()
    {
        return userBytes.get();
    }

    long systemBytes()
    {
        return systemBytes.get();
    }

    long revocableBytes()
    {
        return revocableBytes.get();
    }

    long broadcastBytes()
    {
        return broadcastBytes.get();
    }

    long peakBytes()
    {
        return peakTotalBytes.get();
    }

    /**
     * Adds {@code delta} to the user or system counter if the per-node limits still hold.
     *
     * @return false if a limit refused and {@code orThrow} is false; nothing changed then
     * @throws MemoryLimitExceededException if a limit refused and {@code orThrow} is true; nothing changed
     * @throws IllegalArgumentException if the counter would overflow, whatever {@code orThrow}; nothing changed
     */
    boolean claim(MemoryKind kind, long delta, boolean orThrow)
    {
        AtomicLong counter = kind == MemoryKind.USER ? userBytes : systemBytes;
        long held = addWithin(counter, kind, delta);
        if (kind == MemoryKind.USER && held > maxUserBytes) {
            counter.addAndGet(-delta);
            if (orThrow) {
                throw exceeded(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT, "per-node memory limit", maxUserBytes, held - delta, delta);
            }
            return false;
        }
        if (maxTotalBytes != Long.MAX_VALUE) {
            long total = saturatedSum(userBytes.get(), systemBytes.get());
            if (total > maxTotalBytes) {
                counter.addAndGet(-delta);
                if (orThrow) {
                    throw exceeded(ErrorCode.EXCEEDED_LOCAL_MEMORY_LIMIT, "per-node total memory limit", maxTotalBytes, total - delta, delta);
                }
                return false;
            }
        }
        return true;
    }

    /** Takes back a claim, or releases: subtracts {@code bytes} from the user or system counter. */
    void unclaim(MemoryKind kind, long bytes)
    {
        (kind == MemoryKind.USER ? userBytes : systemBytes).addAndGet(-bytes);
    }

    /**
     * Adds {@code delta} to the revocable counter if Presto's per-node revocable limit still holds (Trino has none:
     * revocable memory can always be taken back).
     *
     * @return false if the limit refused and {@code orThrow} is false; nothing changed then
     * @throws MemoryLimitExceededException if the limit refused and {@code orThrow} is true; nothing changed
     * @throws IllegalArgumentException if a growth would overflow the counter; nothing changed
     */
    boolean claimRevocable(long delta, boolean orThrow)
    {
        if (delta <= 0) {
            revocableBytes.addAndGet(delta);
            return true;
        }
        long held = addWithin(revocableBytes, MemoryKind.REVOCABLE, delta);
        if (held > maxRevocableBytes) {
            revocableBytes.addAndGet(-delta);
            if (orThrow) {
                throw exceeded(ErrorCode.EXCEEDED_REVOCABLE_MEMORY_LIMIT, "per-node revocable memory limit", maxRevocableBytes, held - delta, delta);
            }
            return false;
        }
        return true;
    }

    /** Releases revocable memory, or takes back a claim. */
    void unclaimRevocable(long bytes)
    {
        revocableBytes.addAndGet(-bytes);
    }

    /**
     * Adds a growth of {@code delta} bytes to the broadcast counter if Presto's per-node broadcast limit
     * ({@code query.max-broadcast-memory}) still holds. Checked before the user limit, as Presto checks it; the user
     * counter is claimed apart, so the caller takes this claim back if a later step refuses.
     *
     * @return false if the limit refused and {@code orThrow} is false; nothing changed then
     * @throws MemoryLimitExceededException if the limit refused and {@code orThrow} is true; nothing changed
     * @throws IllegalArgumentException if the counter would overflow; nothing changed
     */
    boolean claimBroadcast(long delta, boolean orThrow)
    {
        long held = addWithin(broadcastBytes, MemoryKind.USER, delta);
        if (held > maxBroadcastBytes) {
            broadcastBytes.addAndGet(-delta);
            if (orThrow) {
                throw exceeded(ErrorCode.EXCEEDED_LOCAL_BROADCAST_JOIN_MEMORY_LIMIT, "per-node broadcast memory limit", maxBroadcastBytes, held - delta, delta);
            }
            return false;
        }
        return true;
    }

    /** Releases broadcast memory, or takes back a claim. */
    void unclaimBroadcast(long bytes)
    {
        broadcastBytes.addAndGet(-bytes);
    }

    /** Records the current sum as the peak if it is the largest yet; called after each growth. */
    void updatePeak()
    {
        long total = saturatedSum(saturatedSum(userBytes.get(), systemBytes.get()), revocableBytes.get());
        long peak = peakTotalBytes.get();
        while (total > peak && !peakTotalBytes.compareAndSet(peak, total)) {
            peak = peakTotalBytes.get();
        }
    }

    /**
     * Adds a growth of {@code delta} bytes unless the counter would pass {@code Long.MAX_VALUE}. A compare-and-set
     * rather than one add: a counter that wrapped, even for an instant, would let other tasks' limit checks pass.
     *
     * @return the new value
     */
    private long addWithin(AtomicLong counter, MemoryKind kind, long delta)
    {
        long current = counter.get();
        while (true) {
            long next = current + delta;
            if (next < current) {
                throw new IllegalArgumentException(String.format(
                        "Cannot reserve %s bytes of %s memory for %s: the query's %s bytes there (%s) would overflow a long; nothing was reserved",
                        delta, kind.name().toLowerCase(Locale.ROOT), owner, kind.name().toLowerCase(Locale.ROOT), current));
            }
            long witness = counter.compareAndExchange(current, next);
            if (witness == current) {
                return next;
            }
            current = witness;
        }
    }

    // the counters are never negative, so only an overflow can make a sum of them negative
    private static long saturatedSum(long a, long b)
    {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    private MemoryLimitExceededException exceeded(ErrorCode errorCode, String limitName, long limit, long allocated, long delta)
    {
        return exceeded(errorCode, limitName, limit, allocated, delta, topConsumers.get());
    }

    /**
     * A per-node limit's refusal in Trino's and Presto's words: {@code Query exceeded <limit name> of <limit>
     * [Allocated: ..., Delta: ..., Top Consumers: {...}]}; shared by every per-node limit of a query.
     */
    static MemoryLimitExceededException exceeded(ErrorCode errorCode, String limitName, long limit, long allocated, long delta, Map<String, Long> consumers)
    {
        StringBuilder details = new StringBuilder()
                .append("Allocated: ").append(succinct(allocated))
                .append(", Delta: ").append(succinct(delta));
        if (!consumers.isEmpty()) {
            details.append(", Top Consumers: ").append(consumers.entrySet().stream()
                    .map(entry -> entry.getKey() + "=" + succinct(entry.getValue()))
                    .collect(Collectors.joining(", ", "{", "}")));
        }
        return new MemoryLimitExceededException(errorCode, String.format("Query exceeded %s of %s [%s]", limitName, succinct(limit), details));
    }

    @Override
    public String toString()
    {
        return "user=" + userBytes + " (broadcast=" + broadcastBytes + "), system=" + systemBytes + ", revocable=" + revocableBytes;
    }
}
