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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

final class JoinBuildTest
{
    // 200k build rows: ~3.3MB of chunks plus ~3MB of hash index, on a 2MB pool in the small case
    private static final int ROWS = 200_000;
    private static final long SEED = 9;

    @TempDir
    Path spillDirectory;

    @Test
    void revocableJoinInAPoolTooSmallSpillsItsPartitionsAndProbesThemFromDisk()
            throws Exception
    {
        try (MemoryEngine engine = HashAggregationTest.engine("18MB", "2MB"); SpillFileManager spillFiles = spillFiles()) {
            long poolBytes = engine.node(0).pool().maxBytes();
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext operator = query.addTask("0").addOperator(JoinBuild.TAG);
            JoinBuild join = new JoinBuild(SEED, ROWS, operator, true, OperatorDriver.unkilled(), spillFiles);
            operator.setRevocableConsumer(join.revocableConsumer());

            long checksum = join.run();

            assertThat(checksum).isEqualTo(JoinBuild.expected(SEED, ROWS)).isEqualTo(bruteForce(SEED, ROWS));
            assertThat(join.spilled()).isTrue();
            // every build row (16 bytes) at least once, and the probe side once
            assertThat(join.spilledBytes()).isGreaterThanOrEqualTo(2 * 16L * ROWS).isEqualTo(spillFiles.totalSpilledBytes());
            // it never held the whole build side, let alone its index
            assertThat(query.peakBytes()).isLessThan(buildChunkBytes()).isLessThanOrEqualTo(poolBytes + 512 * 1024);
            assertNothingLeft(engine, query, spillFiles);
        }
    }

    @Test
    void withEnoughMemoryTheSameJoinDoesNotSpillAndGetsTheSameAnswer()
            throws Exception
    {
        long expected = JoinBuild.expected(SEED, ROWS);
        for (boolean revocable : new boolean[] {true, false}) {
            try (MemoryEngine engine = HashAggregationTest.engine("64MB", "32MB"); SpillFileManager spillFiles = spillFiles()) {
                QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice"));
                OperatorMemoryContext operator = query.addTask("0").addOperator(JoinBuild.TAG);
                JoinBuild join = new JoinBuild(SEED, ROWS, operator, revocable, OperatorDriver.unkilled(), spillFiles);
                if (revocable) {
                    operator.setRevocableConsumer(join.revocableConsumer());
                }

                assertThat(join.run()).as("revocable " + revocable).isEqualTo(expected);
                assertThat(join.spilled()).isFalse();
                assertThat(join.spilledBytes()).isZero();
                assertThat(spillFiles.totalSpilledBytes()).isZero();
                // the build rows and the hash index were held, and accounted
                assertThat(query.peakBytes()).isGreaterThan(buildChunkBytes());
                assertNothingLeft(engine, query, spillFiles);
            }
        }
    }

    @Test
    void independentAnswerMatchesABruteForceJoinAndDependsOnThePairs()
    {
        assertThat(JoinBuild.expected(3, 5_000)).isEqualTo(bruteForce(3, 5_000));
        assertThat(JoinBuild.expected(3, 5_000)).isNotEqualTo(JoinBuild.expected(4, 5_000));
        // a payload matched with the wrong probe row changes the checksum
        assertThat(JoinBuild.match(1, 10, 100) + JoinBuild.match(2, 20, 200)).isNotEqualTo(JoinBuild.match(1, 10, 200) + JoinBuild.match(2, 20, 100));
    }

    // the join the obvious way: every build row by key in a map of lists, every probe row against its list
    private static long bruteForce(long seed, int rows)
    {
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom build = root.split();
        SplittableRandom probe = root.split();
        Map<Long, List<Long>> table = new HashMap<>();
        for (int row = 0; row < rows; row++) {
            long key = build.nextInt(rows);
            long payload = build.nextInt(1_000_000);
            table.computeIfAbsent(key, ignored -> new java.util.ArrayList<>()).add(payload);
        }
        long checksum = 0;
        long matches = 0;
        for (int row = 0; row < rows; row++) {
            long key = probe.nextInt(2 * rows);
            long value = probe.nextInt(1000);
            for (long payload : table.getOrDefault(key, List.of())) {
                checksum += JoinBuild.match(key, value, payload);
                matches++;
            }
        }
        // about half the probe keys fall in the build's key range, and a key there has one build row on average
        assertThat(matches).isBetween(rows / 3L, rows * 2L / 3);
        return checksum;
    }

    // the build rows alone, in chunks, if all were in memory (at least one chunk per partition)
    private static long buildChunkBytes()
    {
        return (long) Math.ceil((double) ROWS / JoinBuild.CHUNK_ROWS) * JoinBuild.BYTES_PER_CHUNK;
    }

    private void assertNothingLeft(MemoryEngine engine, QueryMemoryContext query, SpillFileManager spillFiles)
    {
        assertThat(spillFiles.openFiles()).isZero();
        assertThat(WorkloadRunner.countSpillFiles(spillDirectory)).isZero();
        assertThat(engine.node(0).pool().reservedBytes() + engine.node(0).pool().reservedRevocableBytes()).isZero();
        query.close();
    }

    private SpillFileManager spillFiles()
    {
        return new SpillFileManager(SpillConfig.builder().spillPaths(spillDirectory).build());
    }
}
