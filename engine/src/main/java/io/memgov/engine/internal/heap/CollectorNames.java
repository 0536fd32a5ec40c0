package io.memgov.engine.internal.heap;

import java.util.Locale;
import java.util.Map;

import static java.util.Map.entry;
import static java.util.Objects.requireNonNull;

/**
 * Maps a collector's MXBean name (and, for collectors not listed, its GC action) to what its collections cover. The
 * names are HotSpot's, JDK 17 to 21; the action strings are those the collectors put in their notifications.
 */
final class CollectorNames
{
    record Role(CollectionKind kind, boolean concurrent) {}

    private static final Role YOUNG = new Role(CollectionKind.YOUNG, false);
    private static final Role FULL = new Role(CollectionKind.FULL, false);
    private static final Role CONCURRENT_YOUNG = new Role(CollectionKind.YOUNG, true);
    private static final Role CONCURRENT_FULL = new Role(CollectionKind.FULL, true);
    private static final Role PAUSE = new Role(CollectionKind.PAUSE, false);

    private static final Map<String, Role> KNOWN = Map.ofEntries(
            entry("G1 Young Generation", YOUNG),
            entry("G1 Old Generation", FULL),
            entry("G1 Concurrent GC", PAUSE),
            entry("Copy", YOUNG),
            entry("MarkSweepCompact", FULL),
            entry("PS Scavenge", YOUNG),
            entry("PS MarkSweep", FULL),
            entry("ZGC Cycles", CONCURRENT_FULL),
            entry("ZGC Pauses", PAUSE),
            entry("ZGC Major Cycles", CONCURRENT_FULL),
            entry("ZGC Minor Cycles", CONCURRENT_YOUNG),
            entry("ZGC Major Pauses", PAUSE),
            entry("ZGC Minor Pauses", PAUSE),
            entry("Shenandoah Cycles", CONCURRENT_FULL),
            // its notifications carry the pause's name as the action ("Init Mark", "Final Update Refs"), not "end of GC pause"
            entry("Shenandoah Pauses", PAUSE));

    private CollectorNames() {}

    static Role roleOf(String collectorName, String gcAction)
    {
        requireNonNull(collectorName, "collectorName is null");
        requireNonNull(gcAction, "gcAction is null");
        Role known = KNOWN.get(collectorName);
        if (known != null) {
            return known;
        }
        String action = gcAction.toLowerCase(Locale.ROOT);
        String name = collectorName.toLowerCase(Locale.ROOT);
        if (action.equals("end of major gc")) {
            return FULL;
        }
        if (action.equals("end of gc cycle")) {
            return name.contains("minor") || name.contains("young") ? CONCURRENT_YOUNG : CONCURRENT_FULL;
        }
        if (action.contains("pause")) {
            return PAUSE;
        }
        // "end of minor GC", and anything unknown: its figure is used only as an upper bound, never as a full collection's
        return YOUNG;
    }
}
