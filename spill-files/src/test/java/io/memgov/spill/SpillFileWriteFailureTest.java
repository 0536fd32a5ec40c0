package io.memgov.spill;

import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** A disk that fills up in the middle of a batched write: the file, the counters and the reader stay consistent. */
final class SpillFileWriteFailureTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final int BUFFER = SpillBuffers.WRITE_BUFFER_BYTES;

    @TempDir
    Path spillPath;

    @Test
    void aWriteThatFailsHalfWayThroughABatchKeepsTheWholeBlocksBeforeItAndGivesBackTheRest()
            throws IOException
    {
        // the first buffer reaches the disk; the second fails early, before the frame the first one cut is whole, or
        // half-way through
        for (long bytesBeforeFailure : List.of(BUFFER + 1000L, BUFFER + BUFFER / 2L)) {
            for (SpillCompression compression : SpillCompression.values()) {
                for (boolean encryption : List.of(false, true)) {
                    String storage = compression + ", encryption " + encryption + ", failing after " + bytesBeforeFailure + " bytes";
                    SpillFileManager manager = manager(compression, encryption, bytesBeforeFailure);
                    SpillFile file = manager.create(Q1, null, "OrderBy");
                    SpillFileWriter writer = file.newWriter();
                    List<byte[]> taken = new ArrayList<>();
                    UncheckedIOException failure = null;
                    // 100 KB blocks straddle the buffer's ends, so the failing write cuts into a frame
                    for (int i = 0; i < 20 && failure == null; i++) {
                        byte[] block = block(100_000, i);
                        failure = catchThrowableOfType(() -> writer.write(block), UncheckedIOException.class);
                        taken.add(block);
                    }

                    assertThat(failure).as(storage).isNotNull();
                    long kept = file.blockCount();
                    assertThat(kept).as(storage).isPositive().isLessThan(taken.size());
                    assertThat(failure).hasMessage("Cannot write to spill file " + file.path() + ": " + (taken.size() - kept)
                            + " blocks not yet on disk are lost; it keeps its first " + kept + " blocks and takes no more");
                    assertThat(failure.getCause()).hasMessage("No space left on device");
                    // cut back at once, before the writer is closed
                    assertThat(Files.size(file.path())).as(storage).isEqualTo(file.sizeBytes());
                    assertConsistent(manager, file);
                    assertThatThrownBy(() -> writer.write(new byte[1]))
                            .isInstanceOf(IllegalStateException.class)
                            .hasMessage("Spill file " + file.path() + " lost blocks to a failed write; it takes no more");

                    writer.close();
                    assertConsistent(manager, file);
                    assertThat(readAll(file)).as(storage).containsExactlyElementsOf(taken.subList(0, (int) kept));
                    manager.close();
                    assertThat(manager.spilledBytes()).isZero();
                }
            }
        }
    }

    @Test
    void aCloseThatFailsSealsTheFileWithTheBlocksAlreadyOnDisk()
            throws IOException
    {
        // small blocks: the first buffer is written when it fills, the rest only by close, which fails
        SpillFileManager manager = manager(SpillCompression.NONE, false, BUFFER + 100);
        SpillFile file = manager.create(Q1, null, "OrderBy");
        SpillFileWriter writer = file.newWriter();
        List<byte[]> taken = new ArrayList<>();
        for (int i = 0; taken.size() * 1000L < BUFFER * 3L / 2; i++) {
            byte[] block = block(1000, i);
            writer.write(block);
            taken.add(block);
        }
        assertThat(file.blockCount()).isEqualTo(taken.size());

        UncheckedIOException failure = catchThrowableOfType(writer::close, UncheckedIOException.class);

        assertThat(failure).hasMessageContaining("blocks not yet on disk are lost");
        // the first buffer held the header and as many whole 1013-byte frames as fit; the next one was cut by its end
        long kept = (BUFFER - BlockCodec.FILE_HEADER_BYTES) / 1013;
        assertThat(file.blockCount()).isEqualTo(kept);
        assertThat(file.sizeBytes()).isEqualTo(BlockCodec.FILE_HEADER_BYTES + kept * 1013).isEqualTo(Files.size(file.path()));
        assertConsistent(manager, file);
        assertThat(readAll(file)).containsExactlyElementsOf(taken.subList(0, (int) kept));
        writer.close();
        manager.close();
    }

    @Test
    void aFirstWriteThatFailsLeavesAnEmptyFileAndNothingCharged()
            throws IOException
    {
        SpillFileManager manager = manager(SpillCompression.LZ4, true, 10);
        SpillFile file = manager.create(Q1, null, "OrderBy");
        SpillFileWriter writer = file.newWriter();
        // one block larger than even the large buffer: written through it while it is taken
        assertThatThrownBy(() -> writer.write(block(SpillBuffers.LARGE_WRITE_BUFFER_BYTES * 2, 1)))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageEndingWith("1 blocks not yet on disk are lost; it keeps its first 0 blocks and takes no more");

        assertThat(Files.size(file.path())).isZero();
        assertThat(file.blockCount()).isZero();
        assertConsistent(manager, file);
        assertThat(manager.totalSpilledBytes()).isZero();
        writer.close();
        assertThat(readAll(file)).isEmpty();
        manager.close();
    }

    private static void assertConsistent(SpillFileManager manager, SpillFile file)
    {
        assertThat(manager.spilledBytes(Q1)).isEqualTo(file.sizeBytes());
        assertThat(manager.spilledBytes()).isEqualTo(file.sizeBytes());
        assertThat(manager.totalSpilledBytes()).isEqualTo(file.sizeBytes());
    }

    private SpillFileManager manager(SpillCompression compression, boolean encryption, long bytesBeforeFailure)
    {
        SpillConfig config = SpillConfig.builder().spillPaths(spillPath).compression(compression).encryptionEnabled(encryption).build();
        return new SpillFileManager(config, path -> new DiskUsage(1000, 900), (path, options) -> {
            FileChannel channel = FileChannel.open(path, options);
            return Arrays.asList(options).contains(StandardOpenOption.WRITE) ? new FailingFileChannel(channel, bytesBeforeFailure) : channel;
        }, SpillBuffers.SHARED);
    }

    private static List<byte[]> readAll(SpillFile file)
    {
        List<byte[]> blocks = new ArrayList<>();
        try (SpillFileReader reader = file.newReader()) {
            reader.forEachRemaining(blocks::add);
        }
        return blocks;
    }

    /** Half random, half runs of one byte, so that LZ4 shrinks it but not to nothing. */
    private static byte[] block(int length, int seed)
    {
        byte[] block = new byte[length];
        Random random = new Random(seed);
        for (int i = 0; i < length; i += 64) {
            if (random.nextBoolean()) {
                Arrays.fill(block, i, Math.min(length, i + 64), (byte) seed);
            }
            else {
                for (int j = i; j < Math.min(length, i + 64); j++) {
                    block[j] = (byte) random.nextInt();
                }
            }
        }
        return block;
    }
}
