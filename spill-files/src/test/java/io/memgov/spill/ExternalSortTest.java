package io.memgov.spill;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spill.SpillingSorter.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.LongUnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

final class ExternalSortTest
{
    private static final int ROWS = 200_000;
    // a tenth of the rows fit in memory, so the sort has to spill about ten runs
    private static final int BUDGET_ROWS = ROWS / 10;
    // "MEMGOV_R" in ASCII: a value no random key is likely to contain, to look for in the raw files
    private static final long MARKER = 0x4D454D474F565F52L;
    private static final QueryId QUERY = QueryId.of("sort_query");

    @TempDir
    Path spillPath;

    @Test
    void sortsTwoHundredThousandRowsThroughSpillFilesExactlyAsInMemory()
    {
        List<Row> input = randomRows(ROWS, 42, seed -> seed * 31 + 7);
        List<Row> expected = new ArrayList<>(input);
        expected.sort(SpillingSorter.ORDER);

        for (SpillCompression compression : SpillCompression.values()) {
            for (boolean encryption : List.of(false, true)) {
                try (SpillFileManager manager = manager(compression, encryption)) {
                    SpillingSorter sorter = new SpillingSorter(manager, TaskId.of(QUERY, "0"), BUDGET_ROWS);
                    input.forEach(row -> sorter.add(row.key(), row.value()));

                    assertThat(sorter.runs()).hasSize(10);
                    assertThat(manager.spilledBytes(QUERY)).isPositive();
                    assertThat(sorter.sorted()).as(compression + ", encryption " + encryption).isEqualTo(expected);
                    // the operator finishing deletes its runs
                    sorter.close();
                    assertThat(manager.spilledBytes()).isZero();
                    assertThat(spillFiles()).isEmpty();
                }
            }
        }
    }

    @Test
    void givesTheSameAnswerWithoutSpillingWhenTheBudgetIsLargeEnough()
    {
        List<Row> input = randomRows(ROWS, 7, seed -> seed ^ 0x5DEECE66DL);
        try (SpillFileManager manager = manager(SpillCompression.LZ4, false);
                SpillingSorter spilling = new SpillingSorter(manager, TaskId.of(QUERY, "0"), BUDGET_ROWS);
                SpillingSorter inMemory = new SpillingSorter(manager, TaskId.of(QUERY, "1"), ROWS + 1)) {
            input.forEach(row -> spilling.add(row.key(), row.value()));
            input.forEach(row -> inMemory.add(row.key(), row.value()));

            assertThat(inMemory.runs()).isEmpty();
            assertThat(spilling.runs()).isNotEmpty();
            assertThat(spilling.sorted()).isEqualTo(inMemory.sorted());
        }
    }

    @Test
    void encryptedSpillFilesDoNotContainThePlaintextRows()
    {
        // every row carries the marker as its value; in clear it is in every block, encrypted it must be nowhere
        byte[] marker = ByteBuffer.allocate(Long.BYTES).putLong(MARKER).array();

        assertThat(spillAndScan(false, marker)).as("the marker is on disk without encryption").isTrue();
        assertThat(spillAndScan(true, marker)).as("the marker is on disk with encryption").isFalse();
    }

    @Test
    void compressionMakesSpillFilesOfCompressibleRowsSmaller()
    {
        // few distinct keys and one value: sorted runs are long repetitions
        long uncompressed = spilledBytes(SpillCompression.NONE);
        long compressed = spilledBytes(SpillCompression.LZ4);

        assertThat(uncompressed).isGreaterThan((long) ROWS * SpillingSorter.ROW_BYTES);
        assertThat(compressed).isLessThan(uncompressed / 4);
    }

    private boolean spillAndScan(boolean encryption, byte[] pattern)
    {
        try (SpillFileManager manager = manager(SpillCompression.NONE, encryption);
                SpillingSorter sorter = new SpillingSorter(manager, TaskId.of(QUERY, "0"), BUDGET_ROWS)) {
            Random random = new Random(1);
            for (int i = 0; i < ROWS; i++) {
                sorter.add(random.nextLong(), MARKER);
            }
            assertThat(sorter.runs()).isNotEmpty();
            boolean found = false;
            for (SpillFile run : sorter.runs()) {
                found |= contains(read(run.path()), pattern);
            }
            assertThat(sorter.sorted()).hasSize(ROWS).allMatch(row -> row.value() == MARKER);
            return found;
        }
    }

    private long spilledBytes(SpillCompression compression)
    {
        try (SpillFileManager manager = manager(compression, false);
                SpillingSorter sorter = new SpillingSorter(manager, TaskId.of(QUERY, "0"), BUDGET_ROWS)) {
            for (int i = 0; i < ROWS; i++) {
                sorter.add(i % 100, 0);
            }
            long bytes = sorter.runs().stream().mapToLong(run -> read(run.path()).length).sum();
            assertThat(bytes).isEqualTo(manager.spilledBytes());
            assertThat(sorter.sorted()).hasSize(ROWS).isSortedAccordingTo(SpillingSorter.ORDER);
            return bytes;
        }
    }

    private SpillFileManager manager(SpillCompression compression, boolean encryption)
    {
        SpillConfig config = SpillConfig.builder()
                .spillPaths(spillPath)
                .compression(compression)
                .encryptionEnabled(encryption)
                .build();
        return new SpillFileManager(config, path -> new DiskUsage(100, 50));
    }

    private static List<Row> randomRows(int count, long seed, LongUnaryOperator valueOf)
    {
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            // a narrow key range, so that equal keys exercise the tie on value
            long key = random.nextInt(50_000) - 25_000;
            rows.add(new Row(key, valueOf.applyAsLong(random.nextLong())));
        }
        return rows;
    }

    private static boolean contains(byte[] haystack, byte[] needle)
    {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
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

    private List<Path> spillFiles()
    {
        try (Stream<Path> files = Files.list(spillPath)) {
            return files.toList();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
