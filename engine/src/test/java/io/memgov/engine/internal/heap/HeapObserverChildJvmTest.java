package io.memgov.engine.internal.heap;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A child JVM per collector, {@code -Xmx64m}, retains 30MB in 16KB arrays between two explicit full collections: the
 * live heap its observer reports must grow by what it retained.
 */
final class HeapObserverChildJvmTest
{
    private static final long MB = 1024 * 1024;

    @TempDir
    Path directory;

    @ParameterizedTest(name = "{0}")
    @Timeout(60)
    @CsvSource(delimiter = '|', textBlock = """
            # collector | full collector        | growth may fall short by, over by (% of what was retained)
            # G1 counts the tail of each 1MB region that no further 16KB array fits in: about 1.5% here
            G1         | G1_Old_Generation     | 3 | 5
            Serial     | MarkSweepCompact      | 3 | 3
            Parallel   | PS_MarkSweep          | 3 | 3
            # ZGC counts heap in use by page (2MB for small objects): 30MB of arrays occupy a little more
            Z          | ZGC_Cycles            | 3 | 20
            Shenandoah | Shenandoah_Cycles     | 3 | 3
            """)
    void liveHeapAfterAFullCollectionGrowsByWhatTheChildRetains(String collector, String fullCollector, int shortPercent, int overPercent)
            throws Exception
    {
        Map<String, String> figures = ChildJvm.run(directory, List.of("-Xmx64m", "-XX:+Use" + collector + "GC"), "live", "30");

        long retained = Long.parseLong(figures.get("retained"));
        long baseline = Long.parseLong(figures.get("baselineLive"));
        long live = Long.parseLong(figures.get("live"));
        long growth = live - baseline;
        System.out.printf(Locale.ROOT, "%s: retained %d, live after full GC %d (baseline %d), growth %d (%+.2f%%)%n",
                collector, retained, live, baseline, growth, 100.0 * (growth - retained) / retained);

        assertThat(figures.get("collectors")).contains(fullCollector);
        // the heap pools' own after-GC usage, read through MemoryPoolMXBean, agrees (exactly but for Shenandoah, whose
        // pauses update it too); Metaspace and the code caches, about 5MB, are not counted
        assertThat(live).isCloseTo(Long.parseLong(figures.get("heapPoolsAfterGc")), within(MB));
        assertThat(growth).isBetween(retained - retained * shortPercent / 100, retained + retained * overPercent / 100);
        // the baseline is the JVM's own few megabytes
        assertThat(baseline).isBetween(MB / 2, 8 * MB);
        // a full collection sets the smoothed figure, and it was the last collection the child waited for
        assertThat(Long.parseLong(figures.get("smoothedLive"))).isEqualTo(live);
        assertThat(Long.parseLong(figures.get("lastLive"))).isEqualTo(live);
        assertThat(Long.parseLong(figures.get("full"))).isGreaterThanOrEqualTo(2);
        assertThat(Long.parseLong(figures.get("maxHeap"))).isBetween(60 * MB, 64 * MB);
        // listeners run on the JVM's notification thread, not the thread that collected
        assertThat(figures.get("thread")).isNotEqualTo("main");
    }
}
