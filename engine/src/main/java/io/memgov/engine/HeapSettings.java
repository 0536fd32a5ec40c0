package io.memgov.engine;

import io.memgov.spi.policy.PolicyConfig;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.memgov.spi.policy.PolicyConfig.parseBoolean;
import static io.memgov.spi.policy.PolicyConfig.parseDuration;
import static io.memgov.spi.policy.PolicyConfig.parseLong;
import static java.util.Objects.requireNonNull;

/**
 * How a node governing the JVM heap follows the real heap ({@code memory.heap.*}). After every collection the engine
 * compares the live heap with what its pools hold; memory nobody tracked shrinks each pool's effective maximum (never
 * below {@code untracked-floor} of the pool), so the usual chain (revoke, then the killers) acts before the JVM throws
 * {@code OutOfMemoryError}. When the JVM is under GC pressure (GC pauses over {@code gc-time-threshold} of
 * {@code gc-time-window}, or {@code full-collections} full collections in a row leaving more than
 * {@code live-threshold} of the heap live) the node revokes every revocable byte and then, if the pressure stays, fails
 * the query holding the most memory with {@code EXCEEDED_HEAP_MEMORY_LIMIT}.
 *
 * @param gcTimeWindow {@code memory.heap.gc-time-window} (10s): the window of the GC-time share
 * @param gcTimeThreshold {@code memory.heap.gc-time-threshold} (0.5): pressure when GC pauses take more of the window
 * @param liveThreshold {@code memory.heap.live-threshold} (0.9): pressure when full collections leave more of the heap live
 * @param fullCollections {@code memory.heap.full-collections} (3): how many full collections in a row must
 * @param untrackedFloor {@code memory.heap.untracked-floor} (0.1): the least effective maximum, as a share of the pool
 * @param gcPressureResponse {@code memory.heap.gc-pressure-response} (true): whether GC pressure revokes and fails a query
 */
public record HeapSettings(
        Duration gcTimeWindow,
        double gcTimeThreshold,
        double liveThreshold,
        int fullCollections,
        double untrackedFloor,
        boolean gcPressureResponse)
{
    public static final String GC_TIME_WINDOW = "memory.heap.gc-time-window";
    public static final String GC_TIME_THRESHOLD = "memory.heap.gc-time-threshold";
    public static final String LIVE_THRESHOLD = "memory.heap.live-threshold";
    public static final String FULL_COLLECTIONS = "memory.heap.full-collections";
    public static final String UNTRACKED_FLOOR = "memory.heap.untracked-floor";
    public static final String GC_PRESSURE_RESPONSE = "memory.heap.gc-pressure-response";

    static final List<String> KEYS = List.of(GC_TIME_WINDOW, GC_TIME_THRESHOLD, LIVE_THRESHOLD, FULL_COLLECTIONS, UNTRACKED_FLOOR, GC_PRESSURE_RESPONSE);

    // the detector keeps this many full collections
    private static final int MAX_FULL_COLLECTIONS = 8;

    /** The defaults: measured in child JVMs under G1, Serial and Parallel (see {@code GcPressureDetector}). */
    public static final HeapSettings DEFAULTS = new HeapSettings(Duration.ofSeconds(10), 0.5, 0.9, 3, 0.1, true);

    public HeapSettings
    {
        requireNonNull(gcTimeWindow, "gcTimeWindow is null");
        if (gcTimeWindow.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("gcTimeWindow is under 100ms: " + gcTimeWindow);
        }
        checkShare("gcTimeThreshold", gcTimeThreshold, false);
        checkShare("liveThreshold", liveThreshold, false);
        checkShare("untrackedFloor", untrackedFloor, true);
        if (fullCollections < 1 || fullCollections > MAX_FULL_COLLECTIONS) {
            throw new IllegalArgumentException("fullCollections must be in [1, " + MAX_FULL_COLLECTIONS + "]: " + fullCollections);
        }
    }

    static HeapSettings parse(Map<String, String> properties)
    {
        Duration window = parseDuration(GC_TIME_WINDOW, properties.getOrDefault(GC_TIME_WINDOW, "10s"));
        if (window.compareTo(Duration.ofMillis(100)) < 0 || window.compareTo(Duration.ofHours(1)) > 0) {
            throw PolicyConfig.invalid(GC_TIME_WINDOW, properties.get(GC_TIME_WINDOW), "a duration between 100ms and 1h such as 10s");
        }
        return new HeapSettings(
                window,
                share(GC_TIME_THRESHOLD, properties.getOrDefault(GC_TIME_THRESHOLD, "0.5"), false),
                share(LIVE_THRESHOLD, properties.getOrDefault(LIVE_THRESHOLD, "0.9"), false),
                (int) parseLong(FULL_COLLECTIONS, properties.getOrDefault(FULL_COLLECTIONS, "3"), 1, MAX_FULL_COLLECTIONS),
                share(UNTRACKED_FLOOR, properties.getOrDefault(UNTRACKED_FLOOR, "0.1"), true),
                parseBoolean(GC_PRESSURE_RESPONSE, properties.getOrDefault(GC_PRESSURE_RESPONSE, "true")));
    }

    private static double share(String key, String value, boolean zeroAllowed)
    {
        double share = PolicyConfig.parseRatio(key, value);
        if (!zeroAllowed && share == 0) {
            throw PolicyConfig.invalid(key, value, "a ratio in (0, 1] such as 0.5");
        }
        return share;
    }

    private static void checkShare(String name, double value, boolean zeroAllowed)
    {
        if (!(value >= 0 && value <= 1) || (!zeroAllowed && value == 0)) {
            throw new IllegalArgumentException(name + " must be in " + (zeroAllowed ? "[0, 1]" : "(0, 1]") + ": " + value);
        }
    }
}
