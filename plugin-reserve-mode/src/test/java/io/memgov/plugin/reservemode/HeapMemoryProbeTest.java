package io.memgov.plugin.reservemode;

import org.junit.jupiter.api.Test;

import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

final class HeapMemoryProbeTest
{
    @Test
    void prefersTheOldGenerationAfterTheLastCollection()
    {
        // 700 bytes of the heap are in use now, but only 200 survived the last collection in the old generation
        assertThat(HeapMemoryProbe.available(1000, OptionalLong.of(200), 700)).isEqualTo(800);
    }

    @Test
    void fallsBackToHeapUsageBeforeAnyCollection()
    {
        assertThat(HeapMemoryProbe.available(1000, OptionalLong.empty(), 700)).isEqualTo(300);
    }

    @Test
    void neverReportsNegativeAvailableMemory()
    {
        assertThat(HeapMemoryProbe.available(1000, OptionalLong.empty(), 1200)).isZero();
    }

    @Test
    void recognisesTheOldGenerationOfEveryGenerationalCollector()
    {
        assertThat(HeapMemoryProbe.isOldGeneration("G1 Old Gen")).isTrue();
        assertThat(HeapMemoryProbe.isOldGeneration("PS Old Gen")).isTrue();
        assertThat(HeapMemoryProbe.isOldGeneration("Tenured Gen")).isTrue();
        assertThat(HeapMemoryProbe.isOldGeneration("ZGC Old Generation")).isTrue();
        assertThat(HeapMemoryProbe.isOldGeneration("G1 Eden Space")).isFalse();
        assertThat(HeapMemoryProbe.isOldGeneration("ZHeap")).isFalse();
    }

    @Test
    void readsThisJvm()
    {
        HeapMemoryProbe probe = new HeapMemoryProbe();

        assertThat(probe.totalBytes()).isPositive();
        assertThat(probe.availableBytes()).isPositive().isLessThanOrEqualTo(probe.totalBytes());
    }
}
