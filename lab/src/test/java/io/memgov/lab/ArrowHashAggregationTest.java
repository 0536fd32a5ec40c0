package io.memgov.lab;

import io.memgov.arrow.AllocatorLeak;
import io.memgov.arrow.ArrowNodeMemory;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.QueryId;
import io.memgov.spill.SpillConfig;
import io.memgov.spill.SpillFileManager;
import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.util.MemoryUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class ArrowHashAggregationTest
{
    private static final int ROWS = 300_000;
    // ~100k groups: two vectors of 262,144 slots, 4MB and more, and 6MB while it grows to that: more than the small pool
    private static final int KEYS = 120_000;
    private static final long SEED = 5;

    @TempDir
    Path spillDirectory;

    private final List<AllocatorLeak> leaks = new CopyOnWriteArrayList<>();

    @Test
    @Timeout(120)
    void revocableArrowAggregationInAPoolTooSmallSpillsIpcRunsAndMergesThemToTheRightAnswer()
            throws Exception
    {
        // a 4MB pool: the table wants 6MB on its way to 4MB
        try (MemoryEngine engine = HashAggregationTest.engine("20MB", "4MB"); SpillFileManager spillFiles = spillFiles();
                ArrowNodeMemory arrow = arrow(engine)) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(ArrowHashAggregation.TAG);
            ArrowHashAggregation aggregation = new ArrowHashAggregation(SEED, ROWS, KEYS, arrow.operator(operator), true, OperatorDriver.unkilled(), spillFiles);
            operator.setRevocableConsumer(aggregation.revocableConsumer());

            long checksum = aggregation.run();

            assertThat(checksum).isEqualTo(HashAggregation.expected(SEED, ROWS, KEYS));
            // the engine's revoking scheduler asked more than once: keys repeat across runs and the merge adds them up
            assertThat(aggregation.runsWritten()).isGreaterThanOrEqualTo(2);
            assertThat(aggregation.spilledBytes()).isPositive().isEqualTo(spillFiles.totalSpilledBytes());
            // every byte Arrow allocated was reserved first: the query never held more than the pool and one growth
            assertThat(query.peakBytes()).isLessThanOrEqualTo(engine.node(0).pool().maxBytes() + 4L * 1024 * 1024);
            assertNothingLeft(engine, arrow, query, spillFiles);
        }
    }

    @Test
    @Timeout(120)
    void withEnoughMemoryTheArrowAggregationDoesNotSpillAndGetsTheSameAnswer()
            throws Exception
    {
        for (boolean revocable : new boolean[] {true, false}) {
            try (MemoryEngine engine = HashAggregationTest.engine("64MB", "32MB"); SpillFileManager spillFiles = spillFiles();
                    ArrowNodeMemory arrow = arrow(engine)) {
                QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
                OperatorMemoryContext operator = query.addTask("0").addOperator(ArrowHashAggregation.TAG);
                ArrowHashAggregation aggregation = new ArrowHashAggregation(SEED, ROWS, KEYS, arrow.operator(operator), revocable, OperatorDriver.unkilled(),
                        spillFiles);
                if (revocable) {
                    operator.setRevocableConsumer(aggregation.revocableConsumer());
                }

                assertThat(aggregation.run()).as("revocable " + revocable).isEqualTo(HashAggregation.expected(SEED, ROWS, KEYS));
                assertThat(aggregation.runsWritten()).isZero();
                assertThat(spillFiles.totalSpilledBytes()).isZero();
                // the whole table was held off-heap and accounted: two vectors of 262,144 longs at least
                assertThat(query.peakBytes()).isGreaterThanOrEqualTo(2L * 262_144 * Long.BYTES);
                assertNothingLeft(engine, arrow, query, spillFiles);
            }
        }
    }

    @Test
    @Timeout(120)
    void anOutOfMemoryErrorFromArrowsAllocationManagerMidResizeLeavesNoBufferBehind()
            throws Exception
    {
        // memgov has room (a 32MB limit); the memory behind Arrow runs out first, as JDK direct memory does past
        // -XX:MaxDirectMemorySize. Arrow rounds each vector of 262,144 slots to 4MB: the last resize holds the old table
        // (2 x 2MB) and the new keys (4MB), and the new sums pass the 10MB limit
        LimitedAllocationManager.Factory memory = new LimitedAllocationManager.Factory(10L * 1024 * 1024);
        try (MemoryEngine engine = HashAggregationTest.engine("64MB", "32MB"); SpillFileManager spillFiles = spillFiles();
                ArrowNodeMemory arrow = ArrowNodeMemory.builder(engine.node(0)).allocationManagerFactory(memory).leakListener(leaks::add).build()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(ArrowHashAggregation.TAG);
            ArrowHashAggregation aggregation = new ArrowHashAggregation(SEED, ROWS, KEYS, arrow.operator(operator), false, OperatorDriver.unkilled(), spillFiles);

            assertThatThrownBy(aggregation::run)
                    .isInstanceOf(OutOfMemoryError.class)
                    .hasMessageContaining("direct buffer memory");

            // the new keys, allocated before the sums failed, were freed with everything else
            assertThat(memory.liveBytes()).isZero();
            assertNothingLeft(engine, arrow, query, spillFiles);
        }
    }

    private void assertNothingLeft(MemoryEngine engine, ArrowNodeMemory arrow, QueryMemoryContext query, SpillFileManager spillFiles)
    {
        assertThat(leaks).isEmpty();
        assertThat(arrow.allocatedBytes()).isZero();
        assertThat(spillFiles.openFiles()).isZero();
        assertThat(WorkloadRunner.countSpillFiles(spillDirectory)).isZero();
        // the operator closed its Arrow memory, and with it its memgov context, before the query was closed
        assertThat(engine.node(0).pool().reservedBytes() + engine.node(0).pool().reservedRevocableBytes()).isZero();
        query.close();
    }

    private ArrowNodeMemory arrow(MemoryEngine engine)
    {
        return ArrowNodeMemory.builder(engine.node(0)).maxWait(Duration.ofSeconds(30)).leakListener(leaks::add).build();
    }

    private SpillFileManager spillFiles()
    {
        return new SpillFileManager(SpillConfig.builder().spillPaths(spillDirectory).build());
    }

    /** Arrow memory from malloc with a limit of its own, past which it throws the JVM's direct-memory error. */
    private static final class LimitedAllocationManager
            extends AllocationManager
    {
        private final Factory factory;
        private final long size;
        private final long address;

        private LimitedAllocationManager(BufferAllocator accountingAllocator, Factory factory, long size)
        {
            super(accountingAllocator);
            this.factory = factory;
            this.size = size;
            this.address = MemoryUtil.allocateMemory(size);
        }

        @Override
        public long getSize()
        {
            return size;
        }

        @Override
        protected long memoryAddress()
        {
            return address;
        }

        @Override
        protected void release0()
        {
            MemoryUtil.freeMemory(address);
            factory.live.addAndGet(-size);
        }

        static final class Factory
                implements AllocationManager.Factory
        {
            private final long limitBytes;
            private final AtomicLong live = new AtomicLong();

            Factory(long limitBytes)
            {
                this.limitBytes = limitBytes;
            }

            long liveBytes()
            {
                return live.get();
            }

            @Override
            public AllocationManager create(BufferAllocator accountingAllocator, long size)
            {
                long after = live.addAndGet(size);
                if (after > limitBytes) {
                    live.addAndGet(-size);
                    throw new OutOfMemoryError("Cannot reserve " + size + " bytes of direct buffer memory (allocated: " + (after - size) + ", limit: " + limitBytes + ")");
                }
                return new LimitedAllocationManager(accountingAllocator, this, size);
            }

            @Override
            public ArrowBuf empty()
            {
                return DirectBufferAllocationManager.FACTORY.empty();
            }
        }
    }
}
