package io.memgov.engine.internal.visibility;

/**
 * What the nodes' arbitration did since the engine started, under {@code io.memgov:type=Arbitration,engine=<engine>}
 * (see {@code ArbitrationSnapshot}). Sizes in bytes, times in milliseconds.
 */
public interface ArbitrationMXBean
{
    String getArbitrator();

    long getBlockedReservations();

    long getArbitrations();

    long getReclaimedBytes();

    long getRevokeRequests();

    long getRevokeRequestedBytes();

    long getPauses();

    long getKills();

    long getKilledBytes();

    long getFailures();

    long getReliefs();

    double getReliefP50Millis();

    double getReliefP99Millis();

    double getReliefMaxMillis();
}
