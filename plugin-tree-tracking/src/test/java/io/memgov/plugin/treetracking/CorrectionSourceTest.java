package io.memgov.plugin.treetracking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class CorrectionSourceTest
{
    @Test
    void readsVmRssInBytes()
    {
        String status = "Name:\tjava\nVmPeak:\t 9000 kB\nVmRSS:\t  123456 kB\nThreads:\t42\n";
        assertThat(CorrectionSource.parseVmRss(status)).isEqualTo(123456L * 1024);
        assertThatThrownBy(() -> CorrectionSource.parseVmRss("Name:\tjava\n")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void prefersCgroupV2AndFallsBackToV1(@TempDir Path directory)
            throws IOException
    {
        Path v2 = directory.resolve("memory.current");
        Path v1 = directory.resolve("memory.usage_in_bytes");
        LongSupplier reader = CorrectionSource.cgroupReader(v2, v1);
        Files.writeString(v1, "2048\n");
        assertThat(reader.getAsLong()).isEqualTo(2048);
        Files.writeString(v2, "4096\n");
        assertThat(reader.getAsLong()).isEqualTo(4096);
    }

    @Test
    void heapReaderReportsUsedHeap()
    {
        assertThat(CorrectionSource.HEAP.reader().getAsLong()).isPositive();
    }

    @Test
    void rssReaderWorksWhereProcExists()
    {
        if (Files.isReadable(CorrectionSource.PROC_SELF_STATUS)) {
            assertThat(CorrectionSource.RSS.reader().getAsLong()).isPositive();
        }
    }
}
