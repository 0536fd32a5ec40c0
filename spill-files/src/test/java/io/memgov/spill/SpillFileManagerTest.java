package io.memgov.spill;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class SpillFileManagerTest
{
    // a 300-byte block stored raw takes 4 (length) + 4 (CRC32C) + 1 (codec) + 4 (raw length) + 300 bytes; a file
    // written to starts with an 8-byte header
    private static final int BLOCK = 300;
    private static final int FRAME = 313;
    private static final int HEADER = 8;

    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");

    @TempDir
    Path spillPath;

    @Test
    void returnsEveryBlockInOrderForEveryCompressionAndEncryption()
    {
        List<byte[]> blocks = List.of(
                new byte[0],
                "hello spill".getBytes(StandardCharsets.UTF_8),
                randomBytes(70_000),
                new byte[100_000],
                randomBytes(1));
        for (SpillCompression compression : SpillCompression.values()) {
            for (boolean encryption : List.of(false, true)) {
                try (SpillFileManager manager = manager(config().compression(compression).encryptionEnabled(encryption))) {
                    SpillFile file = manager.create(TaskId.of(Q1, "0"), "OrderBy");
                    try (SpillFileWriter writer = file.newWriter()) {
                        blocks.forEach(writer::write);
                    }

                    List<byte[]> read = new ArrayList<>();
                    try (SpillFileReader reader = file.newReader()) {
                        reader.forEachRemaining(read::add);
                    }
                    assertThat(read).as(compression + ", encryption " + encryption).hasSameSizeAs(blocks);
                    for (int i = 0; i < blocks.size(); i++) {
                        assertThat(read.get(i)).as(compression + ", encryption " + encryption + ", block " + i).isEqualTo(blocks.get(i));
                    }
                    assertThat(file.blockCount()).isEqualTo(blocks.size());
                    assertThat(file.sizeBytes()).isEqualTo(size(file.path()));
                }
            }
        }
    }

    @Test
    void chargesBytesOnDiskToTheQueryAndTheNodeAndGivesThemBackWhenTheFileIsDeleted()
    {
        SpillFileManager manager = manager(config());
        SpillFile first = manager.create(Q1, null, "HashAggregation");
        SpillFile second = manager.create(TaskId.of(Q2, "1.0"), "OrderBy");
        write(first, 2);
        write(second, 1);

        assertThat(manager.spilledBytes(Q1)).isEqualTo(HEADER + 2 * FRAME).isEqualTo(size(first.path()));
        assertThat(manager.spilledBytes(Q2)).isEqualTo(HEADER + FRAME);
        assertThat(manager.spilledBytes()).isEqualTo(2 * HEADER + 3 * FRAME);
        assertThat(manager.totalSpilledBytes()).isEqualTo(2 * HEADER + 3 * FRAME);
        assertThat(manager.openFiles()).isEqualTo(2);
        assertThat(first.taskId()).isEmpty();
        assertThat(second.taskId()).contains(TaskId.of(Q2, "1.0"));

        first.close();
        first.close();

        assertThat(first.path()).doesNotExist();
        assertThat(manager.spilledBytes(Q1)).isZero();
        assertThat(manager.spilledBytes()).isEqualTo(HEADER + FRAME);
        assertThat(manager.totalSpilledBytes()).isEqualTo(2 * HEADER + 3 * FRAME);
        assertThat(manager.openFiles()).isEqualTo(1);
    }

    @Test
    void failsAtThePerQueryLimitWithTrinosMessageChangingNothing()
    {
        SpillFileManager manager = manager(config().queryMaxSpillPerNodeBytes(1000));
        SpillFile file = manager.create(Q1, null, "OrderBy");
        try (SpillFileWriter writer = file.newWriter()) {
            for (int i = 0; i < 3; i++) {
                writer.write(new byte[BLOCK]);
            }

            // the header and 3 frames are 947 bytes; a fourth would make 1260 > 1000
            assertThatThrownBy(() -> writer.write(new byte[BLOCK]))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_SPILL_LIMIT))
                    .hasMessage("Query exceeded per-query local spill limit of 1000B");
            assertThat(manager.spilledBytes(Q1)).isEqualTo(HEADER + 3 * FRAME);
            assertThat(manager.spilledBytes()).isEqualTo(HEADER + 3 * FRAME);
            assertThat(file.sizeBytes()).isEqualTo(HEADER + 3 * FRAME);
            assertThat(file.blockCount()).isEqualTo(3);

            // a smaller block still fits
            writer.write(new byte[] {7, 7, 7, 7, 7, 7, 7, 7, 7, 7});
        }
        // the refused block was not buffered either: the file holds exactly the four blocks taken
        assertThat(size(file.path())).isEqualTo(HEADER + 3 * FRAME + FRAME - BLOCK + 10).isEqualTo(manager.spilledBytes());
        try (SpillFileReader reader = file.newReader()) {
            List<byte[]> read = new ArrayList<>();
            reader.forEachRemaining(read::add);
            assertThat(read).hasSize(4);
            assertThat(read.get(3)).containsOnly(7).hasSize(10);
        }

        // the host fails the query and releases it: nothing is left
        manager.releaseQuery(Q1);
        assertThat(spillFiles()).isEmpty();
        assertThat(manager.spilledBytes()).isZero();
        assertThat(manager.openFiles()).isZero();
    }

    @Test
    void failsAtThePerNodeLimitAcrossQueriesWithTrinosMessageChangingNothing()
    {
        SpillFileManager manager = manager(config().maxSpillPerNodeBytes(2048));
        SpillFile first = manager.create(Q1, null, "OrderBy");
        SpillFile second = manager.create(Q2, null, "OrderBy");
        write(first, 3);
        try (SpillFileWriter writer = second.newWriter()) {
            writer.write(new byte[BLOCK]);
            writer.write(new byte[BLOCK]);
            writer.write(new byte[BLOCK]);

            // 2 headers and 6 frames are 1894 bytes; a seventh frame would make 2207
            assertThatThrownBy(() -> writer.write(new byte[BLOCK]))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_SPILL_LIMIT))
                    .hasMessage("Query exceeded local spill limit of 2kB");
        }
        assertThat(manager.spilledBytes()).isEqualTo(2 * HEADER + 6 * FRAME);
        assertThat(manager.spilledBytes(Q2)).isEqualTo(HEADER + 3 * FRAME);

        manager.releaseQuery(Q1);
        manager.releaseQuery(Q2);
        assertThat(spillFiles()).isEmpty();
        assertThat(manager.spilledBytes()).isZero();
    }

    @Test
    void treatsTheLimitsAsTrinoDoesAQueryMayFillItsLimitButTheNodeMayNot()
    {
        // QueryContext.reserveSpill fails over the limit; SpillSpaceTracker.reserve fails on reaching it
        SpillFileManager queryLimited = manager(config().queryMaxSpillPerNodeBytes(HEADER + 2 * FRAME));
        write(queryLimited.create(Q1, null, "OrderBy"), 2);
        assertThat(queryLimited.spilledBytes()).isEqualTo(HEADER + 2 * FRAME);
        queryLimited.close();

        SpillFileManager nodeLimited = manager(config().maxSpillPerNodeBytes(HEADER + 2 * FRAME));
        assertThatThrownBy(() -> write(nodeLimited.create(Q1, null, "OrderBy"), 2))
                .hasMessage("Query exceeded local spill limit of 634B");
        assertThat(nodeLimited.spilledBytes()).isEqualTo(HEADER + FRAME);
        nodeLimited.close();
    }

    @Test
    void refusesToSpillOntoADiskUsedAboveTheThresholdLeavingNoFile()
    {
        // 95% used against the default 0.9 threshold
        SpillFileManager manager = new SpillFileManager(config().spillPaths(spillPath).build(), path -> new DiskUsage(1000, 50));

        assertThatThrownBy(() -> manager.create(Q1, null, "OrderBy"))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.EXCEEDED_SPILL_LIMIT))
                .hasMessage("No spill space available: spiller-max-used-space-threshold is 90.0% and the disk of every spill path is used above it: "
                        + spillPath.toAbsolutePath().normalize() + " (95.0% used)");
        assertThat(spillFiles()).isEmpty();
        assertThat(manager.openFiles()).isZero();
        assertThat(manager.spilledBytes()).isZero();
    }

    @Test
    void skipsAFullDiskAndKeepsSpillingOnTheOthersRoundRobin()
    {
        Path full = spillPath.resolve("full");
        Path a = spillPath.resolve("a");
        Path b = spillPath.resolve("b");
        DiskUsageProbe probe = path -> path.endsWith("full") ? new DiskUsage(1000, 0) : new DiskUsage(1000, 900);
        SpillFileManager manager = new SpillFileManager(config().spillPaths(a, full, b).build(), probe);

        List<Path> parents = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            parents.add(manager.create(Q1, null, "OrderBy").path().getParent());
        }

        assertThat(parents).doesNotContain(full.toAbsolutePath());
        assertThat(parents).filteredOn(a.toAbsolutePath()::equals).hasSize(2);
        assertThat(parents).filteredOn(b.toAbsolutePath()::equals).hasSize(2);
        manager.close();
    }

    @Test
    void treatsADiskThatCannotBeMeasuredAsUnusable()
    {
        SpillFileManager manager = new SpillFileManager(config().build(), path -> {
            throw new IOException("statvfs failed");
        });

        assertThatThrownBy(() -> manager.create(Q1, null, "OrderBy"))
                .isInstanceOf(MemoryLimitExceededException.class)
                .hasMessageEndingWith(spillPath.toAbsolutePath().normalize() + " (disk usage unreadable: statvfs failed)");
        assertThat(spillFiles()).isEmpty();
    }

    @Test
    void releaseQueryDeletesEveryFileOfTheQueryAndOnlyThose()
    {
        SpillFileManager manager = manager(config().encryptionEnabled(true));
        SpillFile sealed = manager.create(Q1, null, "OrderBy");
        write(sealed, 2);
        SpillFile writing = manager.create(TaskId.of(Q1, "3"), "HashAggregation");
        SpillFileWriter openWriter = writing.newWriter();
        openWriter.write(new byte[BLOCK]);
        manager.create(Q1, null, "Window");
        SpillFile other = manager.create(Q2, null, "OrderBy");
        write(other, 1);

        manager.releaseQuery(Q1);
        manager.releaseQuery(Q1);

        assertThat(spillFiles()).containsExactly(other.path());
        assertThat(manager.spilledBytes(Q1)).isZero();
        assertThat(manager.spilledBytes()).isEqualTo(other.sizeBytes());
        assertThat(manager.openFiles()).isOne();
        assertThat(sealed.isDeleted()).isTrue();
        assertThatThrownBy(() -> openWriter.write(new byte[1])).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(sealed::newReader).isInstanceOf(IllegalStateException.class);
        assertThat(manager.spilledBytes()).isEqualTo(other.sizeBytes());
    }

    @Test
    void deletesLeftoversOfACrashedRunAtStartUpAndSaysHowMany()
            throws IOException
    {
        Files.writeString(spillPath.resolve("memgov-spill-q1-123.bin"), "old");
        Files.writeString(spillPath.resolve("memgov-spill-q9-456.bin"), "old");
        Path second = Files.createDirectories(spillPath.resolve("second"));
        Files.writeString(second.resolve("memgov-spill-q2-789.bin"), "old");
        Path unrelated = Files.writeString(spillPath.resolve("notes.txt"), "keep");
        Path otherEngine = Files.writeString(spillPath.resolve("spill123.bin"), "keep");

        String log = captureStandardError(() -> {
            try (SpillFileManager manager = manager(config().spillPaths(spillPath, second))) {
                assertThat(manager.leftoverFilesDeleted()).isEqualTo(3);
            }
        });

        assertThat(log).contains("INFO").contains("Deleted 3 leftover spill files of a previous run");
        try (Stream<Path> left = Files.walk(spillPath)) {
            assertThat(left.filter(Files::isRegularFile)).containsExactlyInAnyOrder(unrelated, otherEngine);
        }
    }

    @Test
    void neverTakesTheFilesOfAnotherLiveManagerForLeftovers()
    {
        // the nodes of an embedded cluster share one JVM and may share a spill path
        SpillFileManager first = manager(config());
        SpillFile live = first.create(Q1, null, "OrderBy");
        write(live, 1);

        SpillFileManager second = manager(config());

        assertThat(second.leftoverFilesDeleted()).isZero();
        assertThat(live.path()).exists();
        second.close();
        first.close();
    }

    @Test
    void closeDeletesEverythingAndRefusesNewFiles()
    {
        SpillFileManager manager = manager(config().compression(SpillCompression.LZ4).encryptionEnabled(true));
        write(manager.create(Q1, null, "OrderBy"), 3);
        write(manager.create(Q2, null, "OrderBy"), 1);
        manager.create(Q2, null, "Window");

        manager.close();
        manager.close();

        assertThat(spillFiles()).isEmpty();
        assertThat(manager.spilledBytes()).isZero();
        assertThat(manager.openFiles()).isZero();
        assertThatThrownBy(() -> manager.create(Q1, null, "OrderBy"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("SpillFileManager is closed");
    }

    @Test
    void rejectsATamperedEncryptedBlockEvenWithItsChecksumMadeRight()
            throws IOException
    {
        // someone who can write the disk can fix up a CRC32C, not an AES-GCM tag
        SpillFileManager manager = manager(config().encryptionEnabled(true));
        SpillFile file = manager.create(Q1, null, "OrderBy");
        write(file, 1);
        byte[] raw = Files.readAllBytes(file.path());
        // a bit of the ciphertext, before the tag and the checksum
        raw[raw.length - 30] ^= 1;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(raw, HEADER, raw.length - HEADER - 4);
        java.nio.ByteBuffer.wrap(raw).putInt(raw.length - 4, (int) crc.getValue());
        Files.write(file.path(), raw);

        try (SpillFileReader reader = file.newReader()) {
            assertThatThrownBy(reader::next)
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessage("Spill file " + file.path() + " is damaged: block 0 failed authentication: the file was damaged or is not this query's");
        }
        manager.close();
    }

    @Test
    void rejectsADamagedBlockStoredInClearInsteadOfReturningIt()
            throws IOException
    {
        // without encryption only a checksum tells a flipped bit from data
        for (SpillCompression compression : SpillCompression.values()) {
            SpillFileManager manager = manager(config().compression(compression));
            SpillFile file = manager.create(Q1, null, "OrderBy");
            try (SpillFileWriter writer = file.newWriter()) {
                writer.write(randomBytes(100_000));
            }
            byte[] raw = Files.readAllBytes(file.path());
            raw[raw.length / 2] ^= 4;
            Files.write(file.path(), raw);

            try (SpillFileReader reader = file.newReader()) {
                assertThatThrownBy(reader::next)
                        .as(compression.toString())
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessageContaining("block 0 fails its CRC32C check");
            }
            manager.close();
        }
    }

    @Test
    void encryptsEachQueryWithItsOwnKey()
            throws IOException
    {
        // the same plaintext under two queries' keys (and fresh IVs) gives different bytes
        SpillFileManager manager = manager(config().encryptionEnabled(true));
        SpillFile first = manager.create(Q1, null, "OrderBy");
        SpillFile second = manager.create(Q2, null, "OrderBy");
        write(first, 1);
        write(second, 1);

        assertThat(Files.readAllBytes(first.path())).isNotEqualTo(Files.readAllBytes(second.path()));
        manager.close();
    }

    @Test
    void keepsTheNodeCounterExactUnderConcurrentWriters()
            throws Exception
    {
        // 8 threads on 4 queries race each other into a 1MB node limit; whatever fails, the counters must add up
        SpillFileManager manager = manager(config().maxSpillPerNodeBytes(1024 * 1024).queryMaxSpillPerNodeBytes(400 * 1024).compression(SpillCompression.LZ4));
        ExecutorService executor = Executors.newFixedThreadPool(8);
        List<Callable<Integer>> writers = new ArrayList<>();
        for (int thread = 0; thread < 8; thread++) {
            QueryId query = QueryId.of("q" + (thread % 4));
            writers.add(() -> {
                int refused = 0;
                for (int fileNumber = 0; fileNumber < 5; fileNumber++) {
                    try (SpillFileWriter writer = manager.create(query, null, "OrderBy").newWriter()) {
                        for (int block = 0; block < 40; block++) {
                            try {
                                writer.write(randomBytes(ThreadLocalRandom.current().nextInt(1, 2000)));
                            }
                            catch (MemoryLimitExceededException e) {
                                refused++;
                            }
                        }
                    }
                }
                return refused;
            });
        }
        int refused = 0;
        try {
            for (Future<Integer> result : executor.invokeAll(writers)) {
                refused += result.get();
            }
        }
        finally {
            executor.shutdown();
            assertThat(executor.awaitTermination(30, SECONDS)).isTrue();
        }

        long onDisk = spillFiles().stream().mapToLong(SpillFileManagerTest::size).sum();
        long perQuery = Stream.of("q0", "q1", "q2", "q3").mapToLong(id -> manager.spilledBytes(QueryId.of(id))).sum();
        assertThat(refused).as("the limits were reached").isPositive();
        assertThat(manager.spilledBytes()).isEqualTo(onDisk).isEqualTo(perQuery).isLessThan(1024 * 1024);
        assertThat(manager.openFiles()).isEqualTo(40);

        Stream.of("q0", "q1", "q2", "q3").map(QueryId::of).forEach(manager::releaseQuery);
        assertThat(manager.spilledBytes()).isZero();
        assertThat(spillFiles()).isEmpty();
    }

    @Test
    void rejectsATaskOfAnotherQuery()
    {
        SpillFileManager manager = manager(config());

        assertThatThrownBy(() -> manager.create(Q1, TaskId.of(Q2, "0"), "OrderBy"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Task q2.0 is not a task of query q1");
    }

    @Test
    void allowsOneWriterAndReadsOnlyOnceItIsClosed()
    {
        SpillFileManager manager = manager(config());
        SpillFile file = manager.create(Q1, null, "OrderBy");
        SpillFileWriter writer = file.newWriter();

        assertThatThrownBy(file::newWriter).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(file::newReader).hasMessageEndingWith("its writer is still open");
        writer.close();
        assertThatThrownBy(() -> writer.write(new byte[1])).isInstanceOf(IllegalStateException.class);
        try (SpillFileReader reader = file.newReader()) {
            assertThat(reader.hasNext()).isFalse();
        }
        manager.close();
    }

    private SpillConfig.Builder config()
    {
        return SpillConfig.builder().spillPaths(spillPath);
    }

    private static SpillFileManager manager(SpillConfig.Builder config)
    {
        return new SpillFileManager(config.build(), path -> new DiskUsage(1000, 900));
    }

    private static void write(SpillFile file, int blocks)
    {
        try (SpillFileWriter writer = file.newWriter()) {
            for (int i = 0; i < blocks; i++) {
                writer.write(new byte[BLOCK]);
            }
        }
    }

    private List<Path> spillFiles()
    {
        try (Stream<Path> files = Files.walk(spillPath)) {
            return files.filter(path -> path.getFileName().toString().startsWith(SpillFileManager.FILE_PREFIX)).toList();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long size(Path path)
    {
        try {
            return Files.size(path);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] randomBytes(int length)
    {
        byte[] bytes = new byte[length];
        new Random(length).nextBytes(bytes);
        return bytes;
    }

    private static String captureStandardError(Runnable action)
    {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        }
        finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
