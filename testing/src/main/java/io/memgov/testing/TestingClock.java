package io.memgov.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.Objects.requireNonNull;

/**
 * A clock that moves only when a test says so. Starts at {@link #START} unless given another instant. Thread-safe:
 * policies may read it from any thread while the test advances it.
 *
 * @since 1.0
 */
public final class TestingClock
        extends Clock
{
    /** Where a clock starts by default: 2024-01-01T00:00:00Z. */
    public static final Instant START = Instant.parse("2024-01-01T00:00:00Z");

    private final AtomicReference<Instant> now;

    public TestingClock()
    {
        this(START);
    }

    public TestingClock(Instant start)
    {
        this.now = new AtomicReference<>(requireNonNull(start, "start is null"));
    }

    /** Moves the clock forward. */
    public void advance(Duration duration)
    {
        requireNonNull(duration, "duration is null");
        if (duration.isNegative()) {
            throw new IllegalArgumentException("duration is negative: " + duration);
        }
        now.updateAndGet(instant -> instant.plus(duration));
    }

    /** Sets the clock; it may go backwards, as wall clocks do. */
    public void set(Instant instant)
    {
        now.set(requireNonNull(instant, "instant is null"));
    }

    @Override
    public Instant instant()
    {
        return now.get();
    }

    @Override
    public ZoneId getZone()
    {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone)
    {
        if (ZoneOffset.UTC.equals(zone)) {
            return this;
        }
        throw new UnsupportedOperationException("a testing clock runs in UTC");
    }

    @Override
    public String toString()
    {
        return "TestingClock{" + now.get() + "}";
    }
}
