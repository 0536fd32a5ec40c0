package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.QueryId;
import io.memgov.spill.SpillConfig;
import io.memgov.spill.SpillFileManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

final class HashAggregationTest
{
    private static final int ROWS = 300_000;
    // ~100k groups: a table of 262144 slots, 4MB, and 6MB while it grows to that: more than the small pool
    private static final int KEYS = 120_000;
    private static final long SEED = 5;

    @TempDir
    Path spillDirectory;

    @Test
    void revocableAggregationInAPoolTooSmallSpillsSortedRunsAndMergesThemToTheRightAnswer()
            throws Exception
    {
        // 4MB pool; the table wants 6MB on its way to 4MB
        try (MemoryEngine engine = engine("20MB", "4MB"); SpillFileManager spillFiles = spillFiles()) {
            long poolBytes = engine.node(0).pool().maxBytes();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(HashAggregation.TAG);
            HashAggregation aggregation = new HashAggregation(SEED, ROWS, KEYS, operator, true, OperatorDriver.unkilled(), spillFiles);
            operator.setRevocableConsumer(aggregation.revocableConsumer());

            long checksum = aggregation.run();

            assertThat(checksum).isEqualTo(HashAggregation.expected(SEED, ROWS, KEYS));
            // the engine's revoking scheduler asked, more than once: keys repeat across runs and the merge adds them up
            assertThat(aggregation.runsWritten()).isGreaterThanOrEqualTo(2);
            assertThat(aggregation.spilledBytes()).isPositive().isEqualTo(spillFiles.totalSpilledBytes());
            // it never held the whole table: what it asked for beyond the pool was one rehash it did not get (the old
            // and the new arrays), and it spilled instead
            assertThat(query.peakBytes()).isLessThanOrEqualTo(poolBytes + HashAggregation.tableBytes(distinctKeys()));
            assertNothingLeft(engine, query, spillFiles);
        }
    }

    @Test
    void aSpillWritesItsRunSortedInPlaceAllocatingOnlyTheWritersBuffers()
            throws Exception
    {
        // a spill comes when the pool is full: the old one copied the keys to sort them, 3MB of heap nobody reserved at
        // the sweep's 400k groups (issue #18); sorted in place, it allocates the spill writer's buffers only
        int groups = 400_000;
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (MemoryEngine engine = engine("128MB", "64MB"); SpillFileManager spillFiles = spillFiles()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(HashAggregation.TAG);
            HashAggregation aggregation = new HashAggregation(SEED, 2 * groups, groups, operator, true, OperatorDriver.unkilled(), spillFiles);
            try {
                aggregation.readInput();
                long tableBytes = aggregation.heldBytes();
                long before = threads.getCurrentThreadAllocatedBytes();
                aggregation.spill();
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;

                assertThat(aggregation.runsWritten()).isEqualTo(1);
                assertThat(aggregation.heldBytes()).isZero();
                assertThat(operator.revocableMemory().bytes()).isZero();
                // the writer's blocks, some 100KB; the copy of the keys alone was 3.2MB
                assertThat(allocated).as("allocated by a spill of a %d-byte table", tableBytes).isLessThan(512 * 1024);
            }
            finally {
                aggregation.close();
            }
        }
    }

    @Test
    void aResizeStopsAllocatingAtTheFirstPageAfterAKillAndLeavesTheTableAsItWas()
    {
        // a query killed while it rehashes into 1M slots: memgov already gave its bytes away, so no further page
        HashAggregation.GroupTable table = new HashAggregation.GroupTable();
        table.resize(1024);
        table.add(7, 100);
        java.util.concurrent.atomic.AtomicInteger pages = new java.util.concurrent.atomic.AtomicInteger();
        RuntimeException killed = new RuntimeException("killed");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> table.resize(1 << 20, () -> {
            if (pages.incrementAndGet() > 3) {
                throw killed;
            }
        })).isSameAs(killed);

        assertThat(pages.get()).isEqualTo(4);
        assertThat(table.capacity()).isEqualTo(1024);
        assertThat(table.size()).isEqualTo(1);
        List<Long> groups = new java.util.ArrayList<>();
        table.forEach((key, sum) -> groups.add(key * 1000 + sum));
        assertThat(groups).containsExactly(7100L);
    }

    @Test
    void withEnoughMemoryTheSameAggregationDoesNotSpillAndGetsTheSameAnswer()
            throws Exception
    {
        for (boolean revocable : new boolean[] {true, false}) {
            try (MemoryEngine engine = engine("64MB", "32MB"); SpillFileManager spillFiles = spillFiles()) {
                QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
                OperatorMemoryContext operator = query.addTask("0").addOperator(HashAggregation.TAG);
                HashAggregation aggregation = new HashAggregation(SEED, ROWS, KEYS, operator, revocable, OperatorDriver.unkilled(), spillFiles);
                if (revocable) {
                    operator.setRevocableConsumer(aggregation.revocableConsumer());
                }

                assertThat(aggregation.run()).as("revocable " + revocable).isEqualTo(HashAggregation.expected(SEED, ROWS, KEYS));
                assertThat(aggregation.runsWritten()).isZero();
                assertThat(aggregation.spilledBytes()).isZero();
                assertThat(spillFiles.totalSpilledBytes()).isZero();
                // the whole table was held, and accounted: at the peak, while it rehashed into its last arrays (the old
                // ones are half their size), or, when revocable, while it moved to user memory at the end of the input
                // (counted twice for a moment). Its last arrays have at most twice the slots the groups need: room for
                // one more batch of new groups was reserved before each batch.
                long tableBytes = HashAggregation.tableBytes(distinctKeys());
                long peakBound = revocable ? 2 * (2 * tableBytes) : tableBytes + 2 * tableBytes;
                assertThat(query.peakBytes()).isGreaterThanOrEqualTo(revocable ? 2 * tableBytes : tableBytes + tableBytes / 2).isLessThanOrEqualTo(peakBound);
                assertNothingLeft(engine, query, spillFiles);
            }
        }
    }

    @Test
    void checksumDependsOnWhichKeyHasWhichSum()
    {
        // a sum given to another key, or a key output twice with its partial sums, must not go unnoticed
        assertThat(HashAggregation.mix(1, 10) + HashAggregation.mix(2, 20)).isNotEqualTo(HashAggregation.mix(1, 20) + HashAggregation.mix(2, 10));
        assertThat(HashAggregation.mix(1, 10) + HashAggregation.mix(1, 20)).isNotEqualTo(HashAggregation.mix(1, 30));
        assertThat(HashAggregation.expected(1, 10_000, 100)).isNotEqualTo(HashAggregation.expected(2, 10_000, 100));
    }

    private static long distinctKeys()
    {
        java.util.SplittableRandom random = new java.util.SplittableRandom(SEED);
        java.util.BitSet seen = new java.util.BitSet(KEYS);
        for (int row = 0; row < ROWS; row++) {
            seen.set(random.nextInt(KEYS));
            random.nextInt(1000);
        }
        return seen.cardinality();
    }

    private void assertNothingLeft(MemoryEngine engine, QueryMemoryContext query, SpillFileManager spillFiles)
    {
        assertThat(spillFiles.openFiles()).isZero();
        assertThat(WorkloadRunner.countSpillFiles(spillDirectory)).isZero();
        // the operator released everything itself, before the query was closed
        assertThat(engine.node(0).pool().reservedBytes() + engine.node(0).pool().reservedRevocableBytes()).isZero();
        query.close();
    }

    /** One node with a pool of {@code heap} - 16MB. */
    static MemoryEngine engine(String heap, String maxQueryMemoryPerNode)
    {
        return MemoryEngine.builder()
                .property("node.heap-size", heap)
                .property("memory.heap-headroom-per-node", "16MB")
                .property("query.max-memory-per-node", maxQueryMemoryPerNode)
                .build();
    }

    private SpillFileManager spillFiles()
    {
        return new SpillFileManager(SpillConfig.builder().spillPaths(spillDirectory).build());
    }
}
