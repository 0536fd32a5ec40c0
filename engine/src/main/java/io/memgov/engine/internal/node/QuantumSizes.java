package io.memgov.engine.internal.node;

import io.memgov.engine.ReservationQuantum;

import static io.memgov.spi.policy.DataSizes.succinct;

/**
 * The quantum a {@link QuantizedLocalMemory} reserves in, given the bytes it holds: one fixed size, or Velox's tiers
 * (1MB under 16MB, 4MB under 64MB, 8MB above) each capped by a share of the node's pool. Resolved once per node from
 * {@link ReservationQuantum}, so that the hot path compares with two thresholds and reads one of three sizes.
 */
final class QuantumSizes
{
    static final long MB = 1024 * 1024;
    // Velox's quantizedSize: where the quantum steps from 1MB to 4MB, and from 4MB to 8MB
    static final long MEDIUM_FROM = 16 * MB;
    static final long LARGE_FROM = 64 * MB;
    static final long SMALL = MB;
    static final long MEDIUM = 4 * MB;
    static final long LARGE = 8 * MB;

    private final long small;
    private final long medium;
    private final long large;

    private QuantumSizes(long small, long medium, long large)
    {
        if (small <= 0 || medium < small || large < medium) {
            throw new IllegalArgumentException(String.format("quanta must be positive and not shrink with the size: %s, %s, %s", small, medium, large));
        }
        this.small = small;
        this.medium = medium;
        this.large = large;
    }

    /** @param quantum positive */
    static QuantumSizes fixed(long quantum)
    {
        return new QuantumSizes(quantum, quantum, quantum);
    }

    /**
     * Velox's tiers, each at most {@code poolBytes / ADAPTIVE_POOL_SHARE}, or the floor if that is larger, rounded down
     * to a power of two (so that quanta stay powers of two, as Velox's and the allocators' are). The floor is never
     * more than a sixteenth of the pool: a quantum as large as the pool would block a context on its first byte.
     */
    static QuantumSizes adaptive(long poolBytes)
    {
        long floor = Math.min(ReservationQuantum.MIN_ADAPTIVE_QUANTUM, poolBytes / 16);
        long cap = Long.highestOneBit(Math.max(1, Math.max(floor, poolBytes / ReservationQuantum.ADAPTIVE_POOL_SHARE)));
        return new QuantumSizes(Math.min(SMALL, cap), Math.min(MEDIUM, cap), Math.min(LARGE, cap));
    }

    /**
     * @param poolBytes the maximum of the node's general pool, which caps an adaptive quantum
     * @return the sizes, or null when {@code quantum} is exact (no decorator)
     */
    static QuantumSizes of(ReservationQuantum quantum, long poolBytes)
    {
        if (quantum.isAdaptive()) {
            return adaptive(poolBytes);
        }
        return quantum.isExact() ? null : fixed(quantum.fixedBytes());
    }

    /** The quantum for a context that holds {@code bytes}. */
    long quantumFor(long bytes)
    {
        return bytes < MEDIUM_FROM ? small : bytes < LARGE_FROM ? medium : large;
    }

    /** The largest quantum any size gets. */
    long largest()
    {
        return large;
    }

    @Override
    public String toString()
    {
        return small == large ? succinct(small) : succinct(small) + "/" + succinct(medium) + "/" + succinct(large);
    }
}
