package io.memgov.engine.internal.heap;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.memgov.engine.internal.heap.SyntheticCollections.MB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The detector on snapshots built from synthetic collections: a 256MB heap, a 10 s window, the default thresholds
 * (more than 50% of the window in GC; more than 90% of the heap live after 3 full collections in a row).
 */
final class GcPressureDetectorTest
{
    private static final long HEAP = 256 * MB;

    private final HeapStatistics statistics = new HeapStatistics(HEAP, Duration.ofSeconds(10), 0.3);
    private final GcPressureDetector detector = new GcPressureDetector();

    @Test
    void gcTakingMoreThanHalfTheWindowIsPressure()
    {
        // 31 young collections of 200 ms in 10 s: 62% of the window, while the heap itself is half empty
        for (int i = 0; i < 31; i++) {
            statistics.record(young(10_000 + i * 300L, 200, percentOfHeap(50)));
        }
        GcPressure pressure = detector.evaluate(statistics.snapshot(20_000));

        assertThat(pressure.underPressure()).isTrue();
        assertThat(pressure.gcTimeExceeded()).isTrue();
        assertThat(pressure.liveHeapExceeded()).isFalse();
        assertThat(pressure.message()).isEqualTo("GC took 62% of the last 10s; no full collection yet");
    }

    @Test
    void gcTakingExactlyTheThresholdIsNotPressure()
    {
        // "more than a share": 5 s of pauses in a 10 s window is the limit, not over it
        statistics.record(young(10_000, 5_000, percentOfHeap(50)));

        GcPressure pressure = detector.evaluate(statistics.snapshot(20_000));
        assertThat(pressure.gcTimeFraction()).isEqualTo(0.5);
        assertThat(pressure.underPressure()).isFalse();
    }

    @Test
    void liveHeapAboveNinetyPercentAfterThreeFullCollectionsIsPressure()
    {
        statistics.record(full(1_000, 100, percentOfHeap(94)));
        statistics.record(full(2_000, 100, percentOfHeap(95)));
        statistics.record(full(3_000, 100, percentOfHeap(97)));

        GcPressure pressure = detector.evaluate(statistics.snapshot(4_000));
        assertThat(pressure.liveHeapExceeded()).isTrue();
        assertThat(pressure.gcTimeExceeded()).isFalse();
        assertThat(pressure.message()).isEqualTo("GC took 3% of the last 10s; live heap after the last 3 full collections 94%, 95%, 97% of 256MB");
    }

    @Test
    void onlyTheLastRunOfFullCollectionsCounts()
    {
        // an earlier collection under the threshold breaks the run only while it is one of the last three
        statistics.record(full(1_000, 10, percentOfHeap(95)));
        statistics.record(full(2_000, 10, percentOfHeap(80)));
        statistics.record(full(3_000, 10, percentOfHeap(95)));
        statistics.record(full(4_000, 10, percentOfHeap(96)));
        assertThat(detector.evaluate(statistics.snapshot(5_000)).liveHeapExceeded()).isFalse();

        statistics.record(full(5_000, 10, percentOfHeap(97)));
        GcPressure pressure = detector.evaluate(statistics.snapshot(6_000));
        assertThat(pressure.liveHeapExceeded()).isTrue();
        assertThat(pressure.liveAfterFullBytes()).containsExactly(percentOfHeap(95), percentOfHeap(96), percentOfHeap(97));
    }

    @Test
    void twoFullCollectionsAreNotEnough()
    {
        statistics.record(full(1_000, 10, percentOfHeap(95)));
        statistics.record(full(2_000, 10, percentOfHeap(99)));

        GcPressure pressure = detector.evaluate(statistics.snapshot(3_000));
        assertThat(pressure.underPressure()).isFalse();
        assertThat(pressure.message()).isEqualTo("GC took 0% of the last 10s; live heap after the last 2 full collections 95%, 99% of 256MB");
    }

    @Test
    void aYoungCollectionUnderTheThresholdSinceShowsTheHeapCameDown()
    {
        // a young collection's figure bounds the live heap from above: 70% after it means the live heap is 70% or less
        statistics.record(full(1_000, 10, percentOfHeap(95)));
        statistics.record(full(2_000, 10, percentOfHeap(95)));
        statistics.record(full(3_000, 10, percentOfHeap(95)));
        statistics.record(young(3_500, 10, percentOfHeap(70)));
        assertThat(detector.evaluate(statistics.snapshot(4_000)).liveHeapExceeded()).isFalse();

        // one above it again says nothing new: the live heap may be anywhere under it
        statistics.record(young(3_800, 10, percentOfHeap(92)));
        assertThat(detector.evaluate(statistics.snapshot(4_000)).liveHeapExceeded()).isTrue();
    }

    @Test
    void fullCollectionsOlderThanTheWindowAreNotPressureAnyMore()
    {
        statistics.record(full(1_000, 10, percentOfHeap(95)));
        statistics.record(full(2_000, 10, percentOfHeap(95)));
        statistics.record(full(3_000, 10, percentOfHeap(95)));

        assertThat(detector.evaluate(statistics.snapshot(13_010)).liveHeapExceeded()).isTrue();
        assertThat(detector.evaluate(statistics.snapshot(13_011)).liveHeapExceeded()).isFalse();
    }

    @Test
    void thresholdsAreConfigurable()
    {
        statistics.record(full(1_000, 10, percentOfHeap(85)));
        // 10 + 990 ms of pauses: 10% of the window
        statistics.record(young(2_000, 990, percentOfHeap(85)));
        HeapSnapshot snapshot = statistics.snapshot(3_000);

        assertThat(detector.evaluate(snapshot).underPressure()).isFalse();
        assertThat(new GcPressureDetector(0.5, 0.8, 1).evaluate(snapshot).liveHeapExceeded()).isTrue();
        assertThat(new GcPressureDetector(0.09, 0.9, 3).evaluate(snapshot).gcTimeExceeded()).isTrue();
        assertThat(new GcPressureDetector(0.1, 0.9, 3).evaluate(snapshot).gcTimeExceeded()).isFalse();
    }

    @Test
    void rejectsBadThresholds()
    {
        assertThatThrownBy(() -> new GcPressureDetector(0, 0.9, 3)).hasMessage("gcTimeThreshold must be in (0, 1]: 0.0");
        assertThatThrownBy(() -> new GcPressureDetector(0.5, 1.1, 3)).hasMessage("liveThreshold must be in (0, 1]: 1.1");
        assertThatThrownBy(() -> new GcPressureDetector(0.5, Double.NaN, 3)).hasMessage("liveThreshold must be in (0, 1]: NaN");
        assertThatThrownBy(() -> new GcPressureDetector(0.5, 0.9, 0)).hasMessage("fullCollections must be in [1, 8]: 0");
        assertThatThrownBy(() -> new GcPressureDetector(0.5, 0.9, 9)).hasMessage("fullCollections must be in [1, 8]: 9");
    }

    private static long percentOfHeap(int percent)
    {
        return HEAP * percent / 100;
    }

    private static HeapCollection young(long startMillis, long durationMillis, long usedAfterBytes)
    {
        return new HeapCollection("G1 Young Generation", CollectionKind.YOUNG, false, "G1 Evacuation Pause", startMillis, durationMillis, usedAfterBytes, usedAfterBytes);
    }

    private static HeapCollection full(long startMillis, long durationMillis, long usedAfterBytes)
    {
        return new HeapCollection("G1 Old Generation", CollectionKind.FULL, false, "Allocation Failure", startMillis, durationMillis, usedAfterBytes, usedAfterBytes);
    }
}
