package io.memgov.engine.internal.tracker;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * The built-in tracker ({@code exact}): every call carries its delta to the root at once, one compare-and-set per
 * level, no lock. A level that would pass its limit, or whose counter would pass {@code Long.MAX_VALUE}, refuses
 * before it adds, and every level below takes its add back before the refusal is thrown, so a failed allocation
 * leaves the whole chain as it was. Frees never fail; they saturate at zero at query and user level, as ClickHouse
 * does for memory freed outside the context that allocated it.
 */
public final class ExactMemoryTracker
        implements MemoryTracker
{
    private final TrackerLevel level;
    private final String description;
    private final ExactMemoryTracker parent;
    private final long hardLimitBytes;
    private final AtomicLong usedBytes = new AtomicLong();
    private final AtomicLong peakBytes = new AtomicLong();

    private ExactMemoryTracker(TrackerLevel level, String description, ExactMemoryTracker parent, long hardLimitBytes)
    {
        this.level = requireNonNull(level, "level is null");
        this.description = requireNonNull(description, "description is null");
        this.parent = parent;
        if (hardLimitBytes < 0) {
            throw new IllegalArgumentException("hardLimitBytes is negative: " + hardLimitBytes);
        }
        this.hardLimitBytes = hardLimitBytes;
    }

    /** A node-level root with the given limit (0 for none). */
    public static ExactMemoryTracker root(String description, long hardLimitBytes)
    {
        return new ExactMemoryTracker(TrackerLevel.NODE, description, null, hardLimitBytes);
    }

    @Override
    public TrackerLevel level()
    {
        return level;
    }

    @Override
    public String description()
    {
        return description;
    }

    @Override
    public Optional<MemoryTracker> parent()
    {
        return Optional.ofNullable(parent);
    }

    @Override
    public long usedBytes()
    {
        return usedBytes.get();
    }

    @Override
    public long peakBytes()
    {
        return peakBytes.get();
    }

    @Override
    public long hardLimitBytes()
    {
        return hardLimitBytes;
    }

    @Override
    public void allocate(long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
        if (bytes == 0) {
            return;
        }
        addUpTheTree(bytes);
    }

    /**
     * Adds {@code bytes} here and then at every parent; if a level refuses, each level below takes its bytes back. The
     * peaks are raised only once every level has accepted (on the way back down), so a refused allocation leaves them
     * as they were. The tree is at most four levels deep.
     */
    private void addUpTheTree(long bytes)
    {
        long used = addHere(bytes);
        if (parent != null) {
            try {
                parent.addUpTheTree(bytes);
            }
            catch (RuntimeException | Error e) {
                usedBytes.addAndGet(-bytes);
                throw e;
            }
        }
        updatePeak(used);
    }

    /**
     * Adds {@code bytes} to this level only if it stays within the limit and within a {@code long}. A compare-and-set
     * rather than one add: a counter that wrapped, or passed the limit, even for an instant, would make other threads'
     * checks pass or fail wrongly.
     *
     * @return the new value
     */
    private long addHere(long bytes)
    {
        long current = usedBytes.get();
        while (true) {
            long used = current + bytes;
            if (used < current) {
                throw new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, String.format(
                        "Memory limit (%s) exceeded: an allocation of %s bytes on top of %s bytes would overflow the counter of %s tracker '%s'; refused, nothing changed.",
                        level.description(), bytes, current, level, description));
            }
            if (hardLimitBytes > 0 && used > hardLimitBytes) {
                throw new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, String.format(
                        "Memory limit (%s) exceeded: would use %s (attempt to allocate chunk of %s), maximum: %s.",
                        level.description(), DataSizes.binary(used), DataSizes.binary(bytes), DataSizes.binary(hardLimitBytes)));
            }
            long witness = usedBytes.compareAndExchange(current, used);
            if (witness == current) {
                return used;
            }
            current = witness;
        }
    }

    @Override
    public void free(long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
        for (ExactMemoryTracker current = this; current != null; current = current.parent) {
            long used = current.usedBytes.addAndGet(-bytes);
            if (used < 0 && (current.level == TrackerLevel.QUERY || current.level == TrackerLevel.USER)) {
                // saturate: give back only the part of this free that went below zero (one add, no retry loop on
                // the common path where the level holds enough)
                current.usedBytes.addAndGet(Math.min(bytes, -used));
            }
        }
    }

    @Override
    public MemoryTracker newChild(TrackerLevel level, String description, long hardLimitBytes)
    {
        requireNonNull(level, "level is null");
        if (level.ordinal() >= this.level.ordinal()) {
            throw new IllegalArgumentException("a " + level + " tracker cannot be a child of a " + this.level + " tracker");
        }
        return new ExactMemoryTracker(level, description, this, hardLimitBytes);
    }

    private void updatePeak(long used)
    {
        // a plain read first: the peak rarely moves, and a CAS on every call would be a second contended write
        long peak = peakBytes.get();
        while (used > peak && !peakBytes.compareAndSet(peak, used)) {
            peak = peakBytes.get();
        }
    }

    @Override
    public String toString()
    {
        return "ExactMemoryTracker{" + level + " " + description + ", used=" + usedBytes.get() + "}";
    }
}
