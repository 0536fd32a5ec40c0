package io.memgov.engine.internal.node;

/**
 * Presto's cumulative user and total memory of one query on one node ({@code TaskContext.getTaskStats}): the bytes
 * held, integrated over time. It is sampled, never updated on a reservation, so the reserve path reads no clock: each
 * sample adds the period since the last one at the mean of the bytes then and now (Presto's
 * {@code (current + last) / 2 * elapsed}). The first period starts when the query was created, holding nothing. The
 * node samples when it takes a snapshot and when the query closes. Thread-safe.
 */
final class CumulativeMemory
{
    private static final double NANOS_PER_SECOND = 1e9;

    private final long createNanos;
    // guarded by this
    private long lastSampleNanos;
    private long lastUserBytes;
    private long lastTotalBytes;
    private double userByteSeconds;
    private double totalByteSeconds;

    CumulativeMemory(long createNanos)
    {
        this.createNanos = createNanos;
        this.lastSampleNanos = createNanos;
    }

    /** When the first period started ({@link System#nanoTime()}). */
    long createNanos()
    {
        return createNanos;
    }

    /**
     * Adds the period since the last sample. A sample taken before the last one (two threads that read the clock in
     * one order and got here in the other) adds nothing but records the bytes.
     *
     * @param userBytes the user bytes held now
     * @param totalBytes the user plus system bytes held now
     * @return both figures after this sample, read together (a snapshot's user and total agree)
     */
    synchronized ByteSeconds sample(long nowNanos, long userBytes, long totalBytes)
    {
        long elapsedNanos = nowNanos - lastSampleNanos;
        if (elapsedNanos > 0) {
            double seconds = elapsedNanos / NANOS_PER_SECOND;
            userByteSeconds += (userBytes + (double) lastUserBytes) / 2 * seconds;
            totalByteSeconds += (totalBytes + (double) lastTotalBytes) / 2 * seconds;
            lastSampleNanos = nowNanos;
        }
        lastUserBytes = userBytes;
        lastTotalBytes = totalBytes;
        return new ByteSeconds(userByteSeconds, totalByteSeconds);
    }

    /** Cumulative user and total memory at one sample, in byte-seconds. */
    record ByteSeconds(double user, double total) {}

    synchronized double userByteSeconds()
    {
        return userByteSeconds;
    }

    synchronized double totalByteSeconds()
    {
        return totalByteSeconds;
    }
}
