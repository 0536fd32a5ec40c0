package io.memgov.engine.internal.arbitration;

import io.memgov.engine.ArbitrationSnapshot;
import io.memgov.spi.policy.MetricsSink;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

import static java.util.Objects.requireNonNull;

/**
 * Counts what the arbitration of an engine's nodes did, and keeps the last {@value #RELIEF_SAMPLES} relief times for
 * their percentiles. One instance is shared by the engine's nodes. Thread-safe; every count is also sent to the metrics
 * sink as it happens.
 */
public final class ArbitrationStatistics
{
    static final int RELIEF_SAMPLES = 4096;

    private final String arbitrator;
    private final MetricsSink metrics;
    private final LongAdder blocked = new LongAdder();
    private final LongAdder arbitrations = new LongAdder();
    private final LongAdder reclaimedBytes = new LongAdder();
    private final LongAdder revokeRequests = new LongAdder();
    private final LongAdder revokeRequestedBytes = new LongAdder();
    private final LongAdder pauses = new LongAdder();
    private final LongAdder kills = new LongAdder();
    private final LongAdder killedBytes = new LongAdder();
    private final LongAdder failures = new LongAdder();
    // guarded by this: a ring of the last relief times, in nanoseconds
    private final long[] reliefNanos = new long[RELIEF_SAMPLES];
    private long reliefs;

    public ArbitrationStatistics(String arbitrator, MetricsSink metrics)
    {
        this.arbitrator = requireNonNull(arbitrator, "arbitrator is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    void blocked()
    {
        blocked.increment();
        metrics.increment("blocked-reservations", 1);
    }

    void arbitrated()
    {
        arbitrations.increment();
        metrics.increment("arbitrations", 1);
    }

    void reclaimed(long bytes)
    {
        reclaimedBytes.add(bytes);
        metrics.increment("reclaimed-bytes", bytes);
    }

    void revoked(int consumers, long bytes)
    {
        revokeRequests.add(consumers);
        revokeRequestedBytes.add(bytes);
        metrics.increment("revoke-requests", consumers);
        metrics.increment("revoke-requested-bytes", bytes);
    }

    void paused()
    {
        pauses.increment();
        metrics.increment("pauses", 1);
    }

    void killed(long bytes)
    {
        kills.increment();
        killedBytes.add(bytes);
        metrics.increment("kills", 1);
        metrics.increment("killed-bytes", bytes);
    }

    void failed()
    {
        failures.increment();
        metrics.increment("failures", 1);
    }

    void relieved(long nanos)
    {
        synchronized (this) {
            reliefNanos[(int) (reliefs % RELIEF_SAMPLES)] = nanos;
            reliefs++;
        }
        metrics.increment("reliefs", 1);
        metrics.gauge("last-relief-micros", nanos / 1000);
    }

    public ArbitrationSnapshot snapshot()
    {
        long[] samples;
        long count;
        synchronized (this) {
            count = reliefs;
            samples = Arrays.copyOf(reliefNanos, (int) Math.min(count, RELIEF_SAMPLES));
        }
        Arrays.sort(samples);
        return new ArbitrationSnapshot(arbitrator, blocked.sum(), arbitrations.sum(), reclaimedBytes.sum(), revokeRequests.sum(), revokeRequestedBytes.sum(),
                pauses.sum(), kills.sum(), killedBytes.sum(), failures.sum(), count, percentile(samples, 0.50), percentile(samples, 0.99),
                samples.length == 0 ? Duration.ZERO : Duration.ofNanos(samples[samples.length - 1]));
    }

    // nearest rank
    private static Duration percentile(long[] sorted, double quantile)
    {
        if (sorted.length == 0) {
            return Duration.ZERO;
        }
        int rank = (int) Math.ceil(quantile * sorted.length);
        return Duration.ofNanos(sorted[Math.max(0, rank - 1)]);
    }
}
