package io.memgov.engine;

import static io.memgov.spi.policy.DataSizes.succinct;

/**
 * How coarsely local memory contexts reserve ({@code memory.reservation-quantum}): exactly ({@code 0B}, Trino), in
 * multiples of one fixed size (e.g. {@code 1MB}), or {@code adaptive} (the default), in quanta that grow with what the
 * context holds as Velox's do, capped by a share of the node's pool.
 *
 * <p>Adaptive: a context holding under 16MB reserves in quanta of 1MB, under 64MB of 4MB, and above that of 8MB; on
 * every node each quantum is at most the general pool's maximum (at start) divided by {@value #ADAPTIVE_POOL_SHARE},
 * so that on a small pool many small operators do not hold the pool in unused quanta, but not under
 * {@value #MIN_ADAPTIVE_QUANTUM} bytes unless that is more than a sixteenth of the pool; rounded down to a power of
 * two. A 12MB pool gets 128kB quanta, a 2MB pool 64kB, a 512kB pool 32kB; from 512MB up the tiers apply uncapped. Either way a context reserves its bytes rounded up to its quantum, keeps up to one more
 * quantum after a decrease, and nothing once its bytes are 0; changes inside that reservation reach nothing above the
 * context.
 *
 * <p>Immutable.
 */
public final class ReservationQuantum
{
    /** An adaptive quantum is at most the node's general pool divided by this. */
    public static final long ADAPTIVE_POOL_SHARE = 64;
    /**
     * The floor of the pool share, in bytes, below which a quantum would cost a pool update every few allocations;
     * on a pool under 1MB the floor is a sixteenth of the pool instead.
     */
    public static final long MIN_ADAPTIVE_QUANTUM = 64 * 1024;

    private static final ReservationQuantum EXACT = new ReservationQuantum(0, false);
    private static final ReservationQuantum ADAPTIVE = new ReservationQuantum(0, true);

    private final long fixedBytes;
    private final boolean adaptive;

    private ReservationQuantum(long fixedBytes, boolean adaptive)
    {
        this.fixedBytes = fixedBytes;
        this.adaptive = adaptive;
    }

    /** {@code 0B}: every change reaches the pool as it is made. */
    public static ReservationQuantum exact()
    {
        return EXACT;
    }

    /**
     * Reservations in multiples of {@code bytes}.
     *
     * @param bytes the quantum; 0 means {@link #exact()}
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    public static ReservationQuantum fixed(long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
        return bytes == 0 ? EXACT : new ReservationQuantum(bytes, false);
    }

    /** {@code adaptive}: quanta that grow with what a context holds, capped by a share of the pool. */
    public static ReservationQuantum adaptive()
    {
        return ADAPTIVE;
    }

    /** True for {@code 0B}: reservations always equal the bytes set. */
    public boolean isExact()
    {
        return !adaptive && fixedBytes == 0;
    }

    public boolean isAdaptive()
    {
        return adaptive;
    }

    /** The fixed quantum in bytes; 0 when exact or adaptive. */
    public long fixedBytes()
    {
        return fixedBytes;
    }

    @Override
    public boolean equals(Object other)
    {
        return other instanceof ReservationQuantum that && fixedBytes == that.fixedBytes && adaptive == that.adaptive;
    }

    @Override
    public int hashCode()
    {
        return Long.hashCode(fixedBytes) * 31 + Boolean.hashCode(adaptive);
    }

    /** As configured: {@code adaptive}, {@code 0B}, or the size, e.g. {@code 1MB}. */
    @Override
    public String toString()
    {
        return adaptive ? "adaptive" : succinct(fixedBytes);
    }
}
