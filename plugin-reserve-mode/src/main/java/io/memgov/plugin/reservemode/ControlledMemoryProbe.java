package io.memgov.plugin.reservemode;

import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * A probe whose figures come from suppliers: tests drive scenarios with it, and hosts that know their own
 * available memory better than the JVM (for example from an allocator) can plug it in the same way.
 */
final class ControlledMemoryProbe
        implements AvailableMemoryProbe
{
    private final LongSupplier availableBytes;
    private final LongSupplier totalBytes;

    ControlledMemoryProbe(LongSupplier availableBytes, LongSupplier totalBytes)
    {
        this.availableBytes = requireNonNull(availableBytes, "availableBytes is null");
        this.totalBytes = requireNonNull(totalBytes, "totalBytes is null");
    }

    @Override
    public long availableBytes()
    {
        return Math.max(0, availableBytes.getAsLong());
    }

    @Override
    public long totalBytes()
    {
        return Math.max(0, totalBytes.getAsLong());
    }

    @Override
    public String description()
    {
        return "controlled probe";
    }
}
