package io.memgov.spi.pool;

import static java.util.Objects.requireNonNull;

/**
 * Bytes a query holds under one tag (an operator kind such as {@code HashAggregation}).
 *
 * @param tag never null
 * @param allocationBytes non-negative
 * @since 1.0
 */
public record MemoryAllocation(String tag, long allocationBytes)
{
    public MemoryAllocation
    {
        requireNonNull(tag, "tag is null");
        if (allocationBytes < 0) {
            throw new IllegalArgumentException("allocationBytes is negative: " + allocationBytes);
        }
    }
}
