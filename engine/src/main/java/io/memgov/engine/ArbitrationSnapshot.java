package io.memgov.engine;

import java.time.Duration;

import static java.util.Objects.requireNonNull;

/**
 * What the nodes' arbitration ({@code memory.arbitrator.policy}) did since the engine started, summed over this
 * engine's nodes. Sizes in bytes. With the {@code none} arbitrator only the blocked reservations and their relief times
 * are counted: nothing is arbitrated.
 *
 * @param arbitrator the selected arbitrator's name
 * @param blockedReservations reservations that left their pool without room
 * @param arbitrations plans asked of the arbitrator (a requester whose pool made room before its turn is not asked)
 * @param reclaimedBytes unused reservation (quantum slack) given back by reclaim steps
 * @param revokeRequests revocable consumers asked to spill by revoke steps
 * @param revokeRequestedBytes revocable bytes those consumers held when asked
 * @param pauses pause steps run
 * @param kills queries killed by kill steps
 * @param killedBytes what the killed queries held when killed
 * @param failures requesters failed by fail steps
 * @param reliefs blocked reservations whose pool made room again (by arbitration, by a free, or by the cluster loop)
 * @param reliefP50 median time from a blocked reservation to its relief, over the last 4096 reliefs; zero before any
 * @param reliefP99 99th percentile of the same
 * @param reliefMax the longest of the same
 */
public record ArbitrationSnapshot(
        String arbitrator,
        long blockedReservations,
        long arbitrations,
        long reclaimedBytes,
        long revokeRequests,
        long revokeRequestedBytes,
        long pauses,
        long kills,
        long killedBytes,
        long failures,
        long reliefs,
        Duration reliefP50,
        Duration reliefP99,
        Duration reliefMax)
{
    public ArbitrationSnapshot
    {
        requireNonNull(arbitrator, "arbitrator is null");
        requireNonNull(reliefP50, "reliefP50 is null");
        requireNonNull(reliefP99, "reliefP99 is null");
        requireNonNull(reliefMax, "reliefMax is null");
    }
}
