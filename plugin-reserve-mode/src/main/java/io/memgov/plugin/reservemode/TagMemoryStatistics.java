package io.memgov.plugin.reservemode;

import static java.util.Objects.requireNonNull;

/**
 * What one query did under one tag on one node, counted by the reserve-mode pool when {@code full-statistics=true}
 * (TDengine's {@code memPoolFullFunc}). Revocable memory is counted under the tag {@value ReserveModeMemoryPool#REVOCABLE_TAG}.
 *
 * @param tag never null
 * @param reservations successful reservations
 * @param reservedBytes bytes of successful reservations
 * @param failedReservations reservations refused (by a rule of the pool, or by {@code tryReserve} for lack of space)
 * @param failedBytes bytes of refused reservations
 * @param releases releases
 * @param releasedBytes bytes released
 */
record TagMemoryStatistics(
        String tag,
        long reservations,
        long reservedBytes,
        long failedReservations,
        long failedBytes,
        long releases,
        long releasedBytes)
{
    TagMemoryStatistics
    {
        requireNonNull(tag, "tag is null");
    }

    /** Bytes reserved and not released; zero when the tag is balanced. */
    long remainingBytes()
    {
        return reservedBytes - releasedBytes;
    }
}
