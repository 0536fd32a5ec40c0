package io.memgov.engine.internal.visibility;

import io.memgov.engine.ArbitrationSnapshot;

import java.time.Duration;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/** {@link ArbitrationMXBean} over the arbitration's snapshot, read anew for every attribute. */
final class ArbitrationStats
        implements ArbitrationMXBean
{
    private final Supplier<ArbitrationSnapshot> arbitration;

    ArbitrationStats(Supplier<ArbitrationSnapshot> arbitration)
    {
        this.arbitration = requireNonNull(arbitration, "arbitration is null");
    }

    @Override
    public String getArbitrator()
    {
        return arbitration.get().arbitrator();
    }

    @Override
    public long getBlockedReservations()
    {
        return arbitration.get().blockedReservations();
    }

    @Override
    public long getArbitrations()
    {
        return arbitration.get().arbitrations();
    }

    @Override
    public long getReclaimedBytes()
    {
        return arbitration.get().reclaimedBytes();
    }

    @Override
    public long getRevokeRequests()
    {
        return arbitration.get().revokeRequests();
    }

    @Override
    public long getRevokeRequestedBytes()
    {
        return arbitration.get().revokeRequestedBytes();
    }

    @Override
    public long getPauses()
    {
        return arbitration.get().pauses();
    }

    @Override
    public long getKills()
    {
        return arbitration.get().kills();
    }

    @Override
    public long getKilledBytes()
    {
        return arbitration.get().killedBytes();
    }

    @Override
    public long getFailures()
    {
        return arbitration.get().failures();
    }

    @Override
    public long getReliefs()
    {
        return arbitration.get().reliefs();
    }

    @Override
    public double getReliefP50Millis()
    {
        return millis(arbitration.get().reliefP50());
    }

    @Override
    public double getReliefP99Millis()
    {
        return millis(arbitration.get().reliefP99());
    }

    @Override
    public double getReliefMaxMillis()
    {
        return millis(arbitration.get().reliefMax());
    }

    private static double millis(Duration duration)
    {
        return duration.toNanos() / 1e6;
    }
}
