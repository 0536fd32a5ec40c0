package io.memgov.lab;

import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;

final class DirectBufferAllocationManagerTest
{
    private static final long SIZE = 4L * 1024 * 1024;

    @Test
    void arrowsBuffersAreTheJvmsDirectMemoryAndAreFreedTheMomentArrowReleasesThem()
    {
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct"))
                .findFirst()
                .orElseThrow();
        try (RootAllocator root = new RootAllocator(RootAllocator.configBuilder().allocationManagerFactory(DirectBufferAllocationManager.FACTORY).build())) {
            long before = direct.getMemoryUsed();
            try (ArrowBuf buffer = root.buffer(SIZE)) {
                // counted where -XX:MaxDirectMemorySize is enforced
                assertThat(direct.getMemoryUsed() - before).isEqualTo(SIZE);
                buffer.setLong(SIZE - Long.BYTES, 42);
                assertThat(buffer.getLong(SIZE - Long.BYTES)).isEqualTo(42);
            }
            // given back by the buffer's cleaner at once, not when a collection finds the buffer
            assertThat(direct.getMemoryUsed()).isEqualTo(before);
        }
    }
}
