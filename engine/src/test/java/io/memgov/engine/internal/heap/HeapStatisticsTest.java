package io.memgov.engine.internal.heap;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;

import static io.memgov.engine.internal.heap.SyntheticCollections.MB;
import static io.memgov.engine.internal.heap.SyntheticCollections.concurrentCycle;
import static io.memgov.engine.internal.heap.SyntheticCollections.full;
import static io.memgov.engine.internal.heap.SyntheticCollections.pause;
import static io.memgov.engine.internal.heap.SyntheticCollections.young;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

final class HeapStatisticsTest
{
    private static final Duration WINDOW = Duration.ofSeconds(10);

    @Test
    void startsWithNoFigures()
    {
        HeapSnapshot snapshot = new HeapStatistics(256 * MB, WINDOW, 0.3).snapshot(5_000);

        assertThat(snapshot.maxHeapBytes()).isEqualTo(256 * MB);
        assertThat(snapshot.lastLiveBytes()).isZero();
        assertThat(snapshot.smoothedLiveBytes()).isZero();
        assertThat(snapshot.gcTimeFraction()).isZero();
        assertThat(snapshot.youngCollections() + snapshot.fullCollections() + snapshot.pauses()).isZero();
        assertThat(snapshot.recentFullCollections()).isEmpty();
    }

    @Test
    void countsEachKindAndKeepsTheLastFigures()
    {
        HeapStatistics statistics = new HeapStatistics(256 * MB, WINDOW, 0.3);
        statistics.record(young(1_000, 10, 100));
        statistics.record(full(2_000, 50, 80));
        statistics.record(young(3_000, 10, 120));
        statistics.record(pause(3_500, 1));

        HeapSnapshot snapshot = statistics.snapshot(4_000);
        assertThat(snapshot.youngCollections()).isEqualTo(2);
        assertThat(snapshot.fullCollections()).isEqualTo(1);
        assertThat(snapshot.pauses()).isEqualTo(1);
        // the pause carries no live figure: the last one is the young collection's
        assertThat(snapshot.lastLiveBytes()).isEqualTo(120 * MB);
        assertThat(snapshot.lastFullLiveBytes()).isEqualTo(80 * MB);
        assertThat(snapshot.gcTimeMillis()).isEqualTo(71);
        assertThat(snapshot.recentFullCollections()).extracting(HeapCollection::usedAfterBytes).containsExactly(80 * MB);
    }

    @Test
    void smoothedLiveIsSetByFullCollectionsAndMovedByYoungOnes()
    {
        // young figures bound the live heap from above; a full one measures it
        HeapStatistics statistics = new HeapStatistics(256 * MB, WINDOW, 0.5);
        long[][] steps = {
                // kind (0 young, 1 full), live MB after, smoothed MB expected
                {0, 100, 100},  // the first figure seeds it
                {0, 200, 150},  // half way toward a young figure
                {0, 200, 175},
                {1, 60, 60},    // a full collection sets it: the old garbage is gone
                {0, 60, 60},
                {0, 100, 80},
        };
        long start = 0;
        for (long[] step : steps) {
            start += 100;
            statistics.record(step[0] == 1 ? full(start, 1, step[1]) : young(start, 1, step[1]));
            assertThat(statistics.snapshot(start + 1).smoothedLiveBytes()).as("after %s", Arrays.toString(step)).isEqualTo(step[2] * MB);
        }
    }

    @Test
    void gcTimeIsTheShareOfTheWindowSpentInPauses()
    {
        HeapStatistics statistics = new HeapStatistics(256 * MB, WINDOW, 0.3);
        statistics.record(young(20_000, 1_000, 100));
        statistics.record(full(25_000, 2_000, 80));

        assertThat(statistics.snapshot(27_000).gcTimeFraction()).isCloseTo(0.3, within(1e-9));
        // window [20500, 30500): half of the first pause has left it
        assertThat(statistics.snapshot(30_500).gcTimeFraction()).isCloseTo(0.25, within(1e-9));
        // window [26000, 36000): the second half of the full collection only
        assertThat(statistics.snapshot(36_000).gcTimeFraction()).isCloseTo(0.1, within(1e-9));
        assertThat(statistics.snapshot(37_000).gcTimeFraction()).isZero();
    }

    @Test
    void concurrentCyclesAreNotGcTimeButTheirPausesAre()
    {
        // ZGC's cycle runs beside the application; only its pauses stop it
        HeapStatistics statistics = new HeapStatistics(256 * MB, WINDOW, 0.3);
        statistics.record(concurrentCycle(1_000, 5_000, 100));
        statistics.record(pause(1_000, 100));
        statistics.record(pause(5_900, 100));

        HeapSnapshot snapshot = statistics.snapshot(6_000);
        assertThat(snapshot.gcTimeFraction()).isCloseTo(0.02, within(1e-9));
        assertThat(snapshot.gcTimeMillis()).isEqualTo(200);
        assertThat(snapshot.fullCollections()).isEqualTo(1);
        assertThat(snapshot.lastFullLiveBytes()).isEqualTo(100 * MB);
    }

    @Test
    void gcTimeStaysExactToOneBucketUnderThousandsOfCollections()
    {
        // a thrashing JVM: a 1 ms pause every 2 ms for 20 s, 5 000 of them in each window
        HeapStatistics statistics = new HeapStatistics(64 * MB, WINDOW, 0.3);
        for (long start = 0; start < 20_000; start += 2) {
            statistics.record(young(start, 1, 50));
        }
        assertThat(statistics.snapshot(20_000).gcTimeFraction()).isCloseTo(0.5, within(0.01));
        assertThat(statistics.snapshot(25_000).gcTimeFraction()).isCloseTo(0.25, within(0.01));
    }

    @Test
    void aPauseLongerThanTheWindowFillsIt()
    {
        HeapStatistics statistics = new HeapStatistics(64 * MB, Duration.ofSeconds(1), 0.3);
        statistics.record(full(1_000, 5_000, 60));

        assertThat(statistics.snapshot(6_000).gcTimeFraction()).isCloseTo(1.0, within(1e-9));
        assertThat(statistics.snapshot(6_500).gcTimeFraction()).isCloseTo(0.5, within(1e-9));
    }

    @Test
    void aClockBehindTheLastCollectionReadsAsItsEnd()
    {
        // the caller's uptime is read on another path than the JVM's GC timestamps and may be a little behind
        HeapStatistics statistics = new HeapStatistics(64 * MB, WINDOW, 0.3);
        statistics.record(young(1_000, 500, 10));

        HeapSnapshot snapshot = statistics.snapshot(1_200);
        assertThat(snapshot.uptimeMillis()).isEqualTo(1_500);
        assertThat(snapshot.gcTimeFraction()).isCloseTo(0.05, within(1e-9));
    }

    @Test
    void keepsTheLastEightFullCollections()
    {
        HeapStatistics statistics = new HeapStatistics(256 * MB, WINDOW, 0.3);
        for (int i = 1; i <= 10; i++) {
            statistics.record(full(i * 1_000L, 10, i));
        }
        assertThat(statistics.snapshot(11_000).recentFullCollections())
                .extracting(HeapCollection::usedAfterBytes)
                .containsExactly(3 * MB, 4 * MB, 5 * MB, 6 * MB, 7 * MB, 8 * MB, 9 * MB, 10 * MB);
    }

    @Test
    void rejectsBadArguments()
    {
        assertThatThrownBy(() -> new HeapStatistics(0, WINDOW, 0.3)).hasMessage("maxHeapBytes is not positive: 0");
        assertThatThrownBy(() -> new HeapStatistics(MB, Duration.ofNanos(10), 0.3)).hasMessage("gcTimeWindow must be at least 1ms: PT0.00000001S");
        assertThatThrownBy(() -> new HeapStatistics(MB, WINDOW, 0)).hasMessage("smoothing weight must be in (0, 1]: 0.0");
        assertThatThrownBy(() -> new HeapStatistics(MB, WINDOW, 1.5)).hasMessage("smoothing weight must be in (0, 1]: 1.5");
    }
}
