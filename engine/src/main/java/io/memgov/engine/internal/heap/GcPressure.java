package io.memgov.engine.internal.heap;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * A {@link GcPressureDetector}'s decision and the figures behind it, for the log and the failure message.
 *
 * @param gcTimeExceeded GC pauses took more than the detector's share of the window
 * @param liveHeapExceeded the live heap stayed above the detector's threshold over its run of full collections
 * @param gcTimeFraction share of the window the application was paused for GC, in [0, 1]
 * @param gcTimeWindow that window
 * @param liveAfterFullBytes the live heap after the last full collections the detector looked at, oldest first (at
 * most its run length; fewer, or none, when fewer happened)
 * @param maxHeapBytes the JVM's max heap
 */
public record GcPressure(
        boolean gcTimeExceeded,
        boolean liveHeapExceeded,
        double gcTimeFraction,
        Duration gcTimeWindow,
        List<Long> liveAfterFullBytes,
        long maxHeapBytes)
{
    public GcPressure
    {
        requireNonNull(gcTimeWindow, "gcTimeWindow is null");
        liveAfterFullBytes = List.copyOf(requireNonNull(liveAfterFullBytes, "liveAfterFullBytes is null"));
        if (maxHeapBytes <= 0) {
            throw new IllegalArgumentException("maxHeapBytes is not positive: " + maxHeapBytes);
        }
    }

    /** Whether either criterion holds. */
    public boolean underPressure()
    {
        return gcTimeExceeded || liveHeapExceeded;
    }

    /**
     * The figures in one line, whatever the decision, e.g. {@code GC took 62% of the last 10s; live heap after the last
     * 3 full collections 94%, 95%, 97% of 256MB}.
     */
    public String message()
    {
        String gcTime = String.format(Locale.ROOT, "GC took %d%% of the last %s", percent(gcTimeFraction), format(gcTimeWindow));
        if (liveAfterFullBytes.isEmpty()) {
            return gcTime + "; no full collection yet";
        }
        String figures = liveAfterFullBytes.stream()
                .map(bytes -> percent((double) bytes / maxHeapBytes) + "%")
                .collect(Collectors.joining(", "));
        String collections = liveAfterFullBytes.size() == 1 ? "the last full collection" : "the last " + liveAfterFullBytes.size() + " full collections";
        return gcTime + "; live heap after " + collections + " " + figures + " of " + succinct(maxHeapBytes);
    }

    private static long percent(double fraction)
    {
        return Math.round(fraction * 100);
    }

    private static String format(Duration duration)
    {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }
}
