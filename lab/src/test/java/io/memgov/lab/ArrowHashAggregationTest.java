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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

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
}
