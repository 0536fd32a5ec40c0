package io.memgov.engine.internal.tracker;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * The built-in tracker ({@code exact}): every call carries its delta to the root at once, one atomic add per level,
 * no lock. A level that would pass its limit undoes its own add and every add below it before throwing, so a failed
 * allocation leaves the whole chain as it was. Frees never fail; they saturate at zero at query and user level, as
 * ClickHouse does for memory freed outside the context that allocated it.
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
    // bytes of this level counted by someone else (the engine's query context, which counts them exactly anyway);
    // they come on top of usedBytes, and their deltas go straight to the parent (allocateCounted)
    private volatile LongSupplier counted;

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
        LongSupplier external = counted;
        return external == null ? usedBytes.get() : usedBytes.get() + external.getAsLong();
    }

    /**
     * Lets the caller count this level's bytes itself, so that they are not counted twice on every call: from now on
     * {@link #usedBytes()} adds {@code counter}, and the caller reports each change of it with
     * {@link #allocateCounted} and {@link #freeCounted}, which carry it to the parents only. Calls of
     * {@link #allocate}/{@link #free} keep working and add to the tracker's own bytes. The engine's query contexts
     * use this when the query level has no limit of its own.
     *
     * @throws IllegalStateException if this level has a limit (it could not check it) or is already counted
     */
    public synchronized void countedBy(LongSupplier counter)
    {
        requireNonNull(counter, "counter is null");
        if (hardLimitBytes > 0) {
            throw new IllegalStateException("tracker " + description + " has a limit of " + hardLimitBytes + " bytes: it must count its bytes itself");
        }
        if (counted != null) {
            throw new IllegalStateException("tracker " + description + " is already counted by " + counted);
        }
        counted = counter;
    }

    /**
     * The counter given to {@link #countedBy} grew by {@code bytes} and now reads {@code countedNow}: carries the
     * bytes to the parents, checking their limits. If a parent refuses, nothing changed at any parent, and the caller
     * must take the bytes back from its counter.
     */
    public void allocateCounted(long bytes, long countedNow)
    {
        if (bytes <= 0) {
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes is negative: " + bytes);
            }
            return;
        }
        if (parent != null) {
            parent.allocate(bytes);
        }
        updatePeak(usedBytes.get() + countedNow);
    }

    /** The counter given to {@link #countedBy} shrank by {@code bytes}: carries the free to the parents. */
    public void freeCounted(long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
        if (parent != null && bytes != 0) {
            parent.free(bytes);
        }
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
        long used = usedBytes.addAndGet(bytes);
        LongSupplier external = counted;
        if (external != null) {
            // the peak and the level's size include what its counter holds
            used += external.getAsLong();
        }
        if (hardLimitBytes > 0 && used > hardLimitBytes) {
            usedBytes.addAndGet(-bytes);
            throw new MemoryLimitExceededException(ErrorCode.MEMORY_LIMIT_EXCEEDED, String.format(
                    "Memory limit (%s) exceeded: would use %s (attempt to allocate chunk of %s), maximum: %s.",
                    level.description(), DataSizes.binary(used), DataSizes.binary(bytes), DataSizes.binary(hardLimitBytes)));
        }
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
