package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.integration.SpillingHashAggregation.Group;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.query.QueryId;
import io.memgov.spill.DiskUsage;
import io.memgov.spill.DiskUsageProbe;
import io.memgov.spill.SpillCompression;
import io.memgov.spill.SpillConfig;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * A real spilling operator ({@link SpillingHashAggregation}) under the engine's revoking scheduler and the spill-file
 * manager: with a pool too small for its groups it spills and still returns exactly the answer; encrypted runs do not
 * hold the rows in the clear; a spill limit, a full disk or a kill fails the query and leaves no file behind.
 *
 * <p>Clean-up choice: the host passes the engine's query failures to {@link SpillFileManager#queryFailed}, which deletes
 * the query's files at once and refuses new ones until the host releases the query.
 */
final class SpillingAggregationTest
{
    private static final int ROWS = 40_000;
    private static final int KEYS = 6_000;
    // room for about 1000 of the 6000 groups
    private static final long SMALL_POOL = 1000 * SpillingHashAggregation.GROUP_BYTES;

    @TempDir
    Path spillPath;

    @Test
    void returnsExactlyTheUnspilledAnswerWhenThePoolIsTooSmall()
    {
        SortedMap<Long, Group> expected = expected();

        Run unspilled = aggregate(64L * 1024 * 1024, config().build());
        assertThat(unspilled.runs).isZero();
        assertThat(unspilled.result).isEqualTo(expected);

        Run spilled = aggregate(SMALL_POOL, config().compression(SpillCompression.LZ4).build());
        assertThat(spilled.runs).as("spill runs").isGreaterThan(1);
        assertThat(spilled.result).isEqualTo(expected);
        assertThat(spillFiles()).isEmpty();
    }

    @Test
    void encryptedRunsDoNotHoldTheRowsInTheClear()
    {
        // the control: without encryption the plaintext is there, so the check below can fail
        assertThat(plaintextFoundInRuns(false)).isTrue();
        assertThat(plaintextFoundInRuns(true)).isFalse();
    }

    @Test
    void aSpillLimitFailsTheQueryAndLeavesNoFile()
    {
        Failure failure = failingAggregation(config().queryMaxSpillPerNodeBytes(4096).build(), DiskUsageProbe.FILE_STORE);

        assertThat(failure.errorCodes).containsExactly(ErrorCode.EXCEEDED_SPILL_LIMIT);
        assertThat(failure.messages.get(0)).isEqualTo("Query exceeded per-query local spill limit of 4kB");
        assertThat(failure.thrown).isInstanceOf(MemoryGovernanceException.class);
        assertThat(((MemoryGovernanceException) failure.thrown).errorCode()).isEqualTo(ErrorCode.EXCEEDED_SPILL_LIMIT);
        assertThat(spillFiles()).isEmpty();
    }

    @Test
    void aFullDiskFailsTheQueryAndLeavesNoFile()
    {
        DiskUsageProbe full = path -> new DiskUsage(100, 1);

        Failure failure = failingAggregation(config().build(), full);

        assertThat(failure.errorCodes).containsExactly(ErrorCode.EXCEEDED_SPILL_LIMIT);
        assertThat(failure.messages.get(0)).startsWith("No spill space available: spiller-max-used-space-threshold is 90.0%");
        assertThat(spillFiles()).isEmpty();
    }

    @Test
    void aKilledQueryLeavesNoFileBehindEvenIfItTriesToSpillAgain()
    {
        try (MemoryEngine engine = engine(SMALL_POOL);
                SpillFileManager spillFiles = new SpillFileManager(config().build())) {
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> spillFiles.queryFailed(queryId, tasks));
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("killed"), QuerySession.of("alice"));
            SpillingHashAggregation aggregation = new SpillingHashAggregation(query.addTask("0").addOperator("HashAggregation"), spillFiles);
            CompletableFuture<Void> operatorThread = CompletableFuture.runAsync(() -> {
                Random random = new Random(7);
                // endless input: only the kill stops it
                while (true) {
                    aggregation.addRow(random.nextInt(KEYS), random.nextInt(1000));
                }
            });
            await().atMost(Duration.ofSeconds(30)).until(() -> spillFiles.openFiles() > 0 || operatorThread.isDone());
            assertThat(operatorThread).isNotDone();

            assertThat(engine.failQuery(QueryId.of("killed"), ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed by the test")).isTrue();

            Throwable thrown = catchThrowable(operatorThread::join);
            assertThat(thrown).isNotNull();
            assertThat(spillFiles()).isEmpty();
            assertThat(engine.node(0).pool().reservedRevocableBytes()).isZero();
            aggregation.close();
            query.close();
        }
    }

    private boolean plaintextFoundInRuns(boolean encryption)
    {
        try (MemoryEngine engine = engine(SMALL_POOL);
                SpillFileManager spillFiles = new SpillFileManager(config().compression(SpillCompression.NONE).encryptionEnabled(encryption).build())) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("secret"), QuerySession.of("alice"));
            try (SpillingHashAggregation aggregation = new SpillingHashAggregation(query.addTask("0").addOperator("HashAggregation"), spillFiles)) {
                feed(aggregation);
                List<SpillFile> runs = aggregation.runs();
                assertThat(runs).isNotEmpty();
                boolean found = false;
                for (SpillFile run : runs) {
                    byte[] plaintext;
                    try (SpillFileReader reader = run.newReader()) {
                        plaintext = reader.next();
                    }
                    // two whole groups (key, sum, count) as the operator wrote them
                    byte[] rows = Arrays.copyOf(plaintext, 48);
                    found |= contains(read(run.path()), rows);
                }
                return found;
            }
            finally {
                query.close();
            }
        }
    }

    private Failure failingAggregation(SpillConfig spillConfig, DiskUsageProbe probe)
    {
        try (MemoryEngine engine = engine(SMALL_POOL);
                SpillFileManager spillFiles = new SpillFileManager(spillConfig, probe)) {
            Failure failure = new Failure();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> {
                spillFiles.queryFailed(queryId, tasks);
                failure.errorCodes.add(errorCode);
                failure.messages.add(message);
            });
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("limited"), QuerySession.of("alice"));
            SpillingHashAggregation aggregation = new SpillingHashAggregation(query.addTask("0").addOperator("HashAggregation"), spillFiles);
            failure.thrown = catchThrowable(() -> feed(aggregation));
            assertThat(failure.thrown).as("the aggregation should have failed").isNotNull();
            // the scheduler fails the query on its own thread, possibly just after the operator's thread gave up
            await().atMost(Duration.ofSeconds(10)).until(() -> query.failure().isPresent() && !failure.errorCodes.isEmpty());
            aggregation.close();
            query.close();
            return failure;
        }
    }

    private Run aggregate(long poolBytes, SpillConfig spillConfig)
    {
        try (MemoryEngine engine = engine(poolBytes);
                SpillFileManager spillFiles = new SpillFileManager(spillConfig)) {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("aggregation"), QuerySession.of("alice"));
            try (SpillingHashAggregation aggregation = new SpillingHashAggregation(query.addTask("0").addOperator("HashAggregation"), spillFiles)) {
                feed(aggregation);
                SortedMap<Long, Group> result = aggregation.finish();
                return new Run(result, aggregation.runs().size());
            }
            finally {
                query.close();
                spillFiles.releaseQuery(QueryId.of("aggregation"));
                assertThat(engine.node(0).pool().freeBytes()).isEqualTo(engine.node(0).pool().maxBytes());
            }
        }
    }

    private static void feed(SpillingHashAggregation aggregation)
    {
        Random random = new Random(42);
        for (int i = 0; i < ROWS; i++) {
            aggregation.addRow(random.nextInt(KEYS), random.nextInt(1000));
        }
    }

    private static SortedMap<Long, Group> expected()
    {
        SortedMap<Long, Group> expected = new TreeMap<>();
        Random random = new Random(42);
        for (int i = 0; i < ROWS; i++) {
            long key = random.nextInt(KEYS);
            long value = random.nextInt(1000);
            expected.merge(key, new Group(key, value, 1), (a, b) -> new Group(key, a.sum() + b.sum(), a.count() + b.count()));
        }
        return expected;
    }

    private static MemoryEngine engine(long poolBytes)
    {
        return MemoryEngine.builder()
                .property("plugin.dir", SpillStrategiesThroughSchedulerTest.spillPluginDirectory().toString())
                .property("node.heap-size", "1GB")
                .property("memory.pool.fixed.max-size", String.valueOf(poolBytes))
                .property("memory.spill-strategy.policy", "threshold")
                .build();
    }

    private SpillConfig.Builder config()
    {
        return SpillConfig.builder().spillPaths(spillPath);
    }

    private List<Path> spillFiles()
    {
        try (Stream<Path> files = Files.list(spillPath)) {
            return files.toList();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path path)
    {
        try {
            return Files.readAllBytes(path);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return true;
            }
        }
        return false;
    }

    private record Run(SortedMap<Long, Group> result, int runs) {}

    private static final class Failure
    {
        final List<ErrorCode> errorCodes = new CopyOnWriteArrayList<>();
        final List<String> messages = new CopyOnWriteArrayList<>();
        Throwable thrown;
    }
}
