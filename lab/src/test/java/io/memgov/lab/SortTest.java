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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

final class SortTest
{
    private static final int ROWS = 3 * Sort.PAGE_ROWS + 123;

    @TempDir
    Path spillDirectory;

    @Test
    void sortsInMemoryAndMatchesTheCountingSort()
            throws Exception
    {
        try (MemoryEngine engine = engine(); SpillFileManager spillFiles = spillFiles()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(Sort.TAG);
            Sort sort = new Sort(7, ROWS, operator, false, OperatorDriver.unkilled(), spillFiles);

            assertThat(sort.run()).isEqualTo(Sort.expected(7, ROWS));
            assertThat(sort.spilledBytes()).isZero();
            // three full pages and the last one were held as user memory, and the last one's copy trimmed to its 123
            // rows was reserved beside it before it was made
            assertThat(query.peakBytes()).isEqualTo(4 * Sort.BYTES_PER_PAGE + Sort.pageBytes(123));
            query.close();
            assertThat(engine.node(0).pool().reservedBytes()).isZero();
        }
    }

    @Test
    void spillsSortedRunsWhenRevokedAndStillGetsTheRightAnswer()
            throws Exception
    {
        try (MemoryEngine engine = engine(); SpillFileManager spillFiles = spillFiles()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(Sort.TAG);
            // the engine's way of asking, as soon as the first page is held: the driver checks for a kill before each
            // reservation, on the operator's thread; the operator spills at its next page
            AtomicLong revoked = new AtomicLong(-1);
            OperatorDriver driver = new OperatorDriver(() -> {
                if (revoked.get() < 0 && operator.revocableMemory().bytes() >= Sort.BYTES_PER_PAGE) {
                    revoked.set(operator.requestMemoryRevoking());
                }
                return null;
            }, new AtomicInteger());
            Sort sort = new Sort(7, ROWS, operator, true, driver, spillFiles);
            operator.setRevocableConsumer(sort.revocableConsumer());

            long checksum = sort.run();

            assertThat(checksum).isEqualTo(Sort.expected(7, ROWS));
            assertThat(revoked.get()).as("revocable bytes asked back").isEqualTo(Sort.BYTES_PER_PAGE);
            assertThat(sort.runsWritten()).isEqualTo(2);
            // the first pages went to one run, the rest to a second one at the end of the input: every value once,
            // 4 bytes each, plus the spill files' block framing
            assertThat(sort.spilledBytes()).isBetween(4L * ROWS, 4L * ROWS + 1024).isEqualTo(spillFiles.totalSpilledBytes());
            assertThat(spillFiles.openFiles()).isZero();
            assertThat(operator.revocableMemory().bytes()).isZero();
            query.close();
            assertThat(engine.node(0).pool().reservedBytes() + engine.node(0).pool().reservedRevocableBytes()).isZero();
        }
    }

    @Test
    void aRevokeAfterTheInputIsCompleteIsAnsweredAtOnce()
            throws Exception
    {
        try (MemoryEngine engine = engine(); SpillFileManager spillFiles = spillFiles()) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(Sort.TAG);
            Sort sort = new Sort(7, 1000, operator, true, OperatorDriver.unkilled(), spillFiles);
            sort.run();

            // nobody would serve it any more: it must not hang the revoking scheduler
            assertThat(sort.revocableConsumer().startMemoryRevoke()).isCompleted();
            query.close();
        }
    }

    @Test
    void checksumDependsOnOrder()
    {
        assertThat(Sort.expected(1, 10_000)).isNotEqualTo(Sort.expected(2, 10_000));
    }

    private static MemoryEngine engine()
    {
        return MemoryEngine.builder()
                .property("node.heap-size", "64MB")
                .property("memory.heap-headroom-per-node", "16MB")
                .property("query.max-memory-per-node", "32MB")
                // the peaks below are the pages' bytes, not quanta
                .property("memory.reservation-quantum", "0B")
                .build();
    }

    private SpillFileManager spillFiles()
    {
        return new SpillFileManager(SpillConfig.builder().spillPaths(spillDirectory).build());
    }
}
