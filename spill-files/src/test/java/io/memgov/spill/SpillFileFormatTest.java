package io.memgov.spill;

import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The on-disk format {@link SpillFile} documents, read through the writer's and the reader's buffers. */
final class SpillFileFormatTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final int HEADER = BlockCodec.FILE_HEADER_BYTES;
    // a block stored as it is and in clear: length, CRC32C, codec, raw length, data
    private static final int FRAME_OVERHEAD = 13;
    private static final int READ = SpillBuffers.READ_BUFFER_BYTES;
    private static final int WRITE = SpillBuffers.WRITE_BUFFER_BYTES;
    private static final int LARGE = SpillBuffers.LARGE_WRITE_BUFFER_BYTES;

    @TempDir
    Path spillPath;

    @Test
    void returnsBlocksOfEverySizeAcrossTheEndsOfTheWriteAndReadBuffers()
    {
        // sizes around each buffer's size (frames that just fit, just do not, and span several), among random ones
        List<Integer> sizes = new ArrayList<>(List.of(0, 1, 2, READ - FRAME_OVERHEAD - 1, READ - FRAME_OVERHEAD, READ - FRAME_OVERHEAD + 1, READ, READ + 1,
                WRITE - HEADER - FRAME_OVERHEAD, WRITE - FRAME_OVERHEAD, WRITE, WRITE + 1, 3 * WRITE + 7, 0, 5));
        // the writer takes a large buffer at the first frame larger than its buffer, with frames already in it
        sizes.addAll(List.of(LARGE - FRAME_OVERHEAD, LARGE, 2 * LARGE + 3, 17));
        Random random = new Random(21);
        for (int i = 0; i < 60; i++) {
            sizes.add(random.nextInt(random.nextBoolean() ? 300 : 3 * WRITE));
        }
        List<byte[]> blocks = new ArrayList<>();
        for (int size : sizes) {
            byte[] block = new byte[size];
            // compressible halves and random halves, so that LZ4 stores some blocks compressed and some as they are
            for (int i = 0; i < size; i++) {
                block[i] = (i / 4096) % 2 == 0 ? (byte) (i / 512) : (byte) random.nextInt();
            }
            blocks.add(block);
        }
        // and once more with no direct memory left, through the small heap buffers
        for (boolean direct : List.of(true, false)) {
            for (SpillCompression compression : SpillCompression.values()) {
                for (boolean encryption : List.of(false, true)) {
                    String storage = compression + ", encryption " + encryption + ", direct " + direct;
                    try (SpillFileManager manager = direct ? manager(compression, encryption) : heapBufferedManager(compression, encryption)) {
                        SpillFile file = manager.create(Q1, null, "OrderBy");
                        try (SpillFileWriter writer = file.newWriter()) {
                            blocks.forEach(writer::write);
                        }

                        assertThat(readAll(file)).as(storage).containsExactlyElementsOf(blocks);
                        assertThat(file.sizeBytes()).as(storage).isEqualTo(size(file.path())).isEqualTo(manager.spilledBytes());
                        if (compression == SpillCompression.NONE && !encryption) {
                            long data = sizes.stream().mapToLong(Integer::longValue).sum();
                            assertThat(file.sizeBytes()).isEqualTo(HEADER + data + (long) FRAME_OVERHEAD * sizes.size());
                        }
                    }
                }
            }
        }
    }

    @Test
    void findsAFlippedBitWithItsChecksumAndSaysWhichBlock()
            throws IOException
    {
        for (SpillCompression compression : SpillCompression.values()) {
            for (boolean encryption : List.of(false, true)) {
                String storage = compression + ", encryption " + encryption;
                try (SpillFileManager manager = manager(compression, encryption)) {
                    SpillFile file = manager.create(Q1, null, "OrderBy");
                    try (SpillFileWriter writer = file.newWriter()) {
                        for (int i = 0; i < 3; i++) {
                            writer.write(compressible(100_000, i));
                        }
                    }
                    // one bit in the middle of the second frame's payload
                    long first = frameLength(file.path(), HEADER);
                    long second = frameLength(file.path(), HEADER + first);
                    flipBit(file.path(), HEADER + first + second / 2);

                    try (SpillFileReader reader = file.newReader()) {
                        assertThat(reader.next()).as(storage).isEqualTo(compressible(100_000, 0));
                        assertThatThrownBy(reader::next)
                                .as(storage)
                                .isInstanceOf(UncheckedIOException.class)
                                .hasMessageStartingWith("Spill file " + file.path() + " is damaged: block 1 fails its CRC32C check (stored 0x")
                                .hasMessageContaining(", computed 0x");
                    }
                }
            }
        }
    }

    @Test
    void findsADamagedLengthAndAFileCutShort()
            throws IOException
    {
        try (SpillFileManager manager = manager(SpillCompression.NONE, false)) {
            SpillFile damaged = written(manager, 1000, 1000);
            // the first frame's length now reaches past the end of the file
            flipBit(damaged.path(), HEADER);
            try (SpillFileReader reader = damaged.newReader()) {
                assertThatThrownBy(reader::next).hasMessage("Spill file " + damaged.path()
                        + " is damaged: block 0 declares a payload of -2147482643 bytes, where 2018 bytes are left and at least 5 are needed");
            }

            SpillFile cut = written(manager, 1000, 1000);
            try (FileChannel channel = FileChannel.open(cut.path(), StandardOpenOption.WRITE)) {
                channel.truncate(size(cut.path()) - 1);
            }
            try (SpillFileReader reader = cut.newReader()) {
                assertThat(reader.next()).hasSize(1000);
                assertThatThrownBy(reader::next)
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessage("Spill file " + cut.path() + " is damaged: it is cut short in block 1");
            }
        }
    }

    @Test
    void refusesAnotherFormatVersionOrMagicNamingWhatItFound()
            throws IOException
    {
        try (SpillFileManager manager = manager(SpillCompression.NONE, false)) {
            SpillFile newer = written(manager, 10);
            write(newer.path(), 4, new byte[] {0, 2});
            try (SpillFileReader reader = newer.newReader()) {
                assertThatThrownBy(reader::hasNext).hasMessage("Spill file " + newer.path() + " is damaged: its format version is 2; this reader reads version 1");
            }

            SpillFile foreign = written(manager, 10);
            write(foreign.path(), 0, new byte[] {'P', 'K', 3, 4});
            try (SpillFileReader reader = foreign.newReader()) {
                assertThatThrownBy(reader::hasNext)
                        .hasMessage("Spill file " + foreign.path() + " is damaged: not a memgov spill file: it starts with 0x504b0304, not 0x4d475346");
            }
        }
    }

    @Test
    void storesABlockLz4CannotShrinkAsItIs()
    {
        try (SpillFileManager manager = manager(SpillCompression.LZ4, false)) {
            byte[] noise = new byte[50_000];
            new Random(5).nextBytes(noise);
            SpillFile file = manager.create(Q1, null, "OrderBy");
            try (SpillFileWriter writer = file.newWriter()) {
                writer.write(noise);
                writer.write(new byte[50_000]);
            }

            assertThat(readAll(file)).containsExactly(noise, new byte[50_000]);
            long zeros = file.sizeBytes() - HEADER - FRAME_OVERHEAD - noise.length;
            assertThat(zeros).as("the zeros, compressed").isBetween(1L + FRAME_OVERHEAD, 1000L);
        }
    }

    @Test
    void givesItsBuffersBackWhenWritersAndReadersCloseOrTheFileIsDeleted()
    {
        SpillBuffers buffers = new SpillBuffers(64L * 1024 * 1024);
        try (SpillFileManager manager = new SpillFileManager(SpillConfig.builder().spillPaths(spillPath).build(), path -> new DiskUsage(1000, 900), FileChannel::open, buffers)) {
            SpillFile file = manager.create(Q1, null, "OrderBy");
            SpillFileWriter first = file.newWriter();
            first.write(new byte[10]);
            assertThat(buffers.idleBuffers(WRITE)).isZero();
            first.close();
            assertThat(buffers.idleBuffers(WRITE)).isOne();

            // a block larger than the buffer moves the writer to a large one, and the small one goes back
            SpillFile large = manager.create(Q1, null, "OrderBy");
            try (SpillFileWriter writer = large.newWriter()) {
                writer.write(new byte[10]);
                writer.write(new byte[WRITE]);
                assertThat(buffers.idleBuffers(WRITE)).isOne();
                assertThat(buffers.idleBuffers(LARGE)).isZero();
            }
            assertThat(buffers.idleBuffers(LARGE)).isOne();

            try (SpillFileReader reader = file.newReader()) {
                reader.next();
                assertThat(buffers.idleBuffers(READ)).isZero();
            }
            assertThat(buffers.idleBuffers(READ)).isOne();
            assertThat(buffers.directBytes()).isEqualTo(WRITE + LARGE + READ);

            // a writer whose file is deleted under it, as when its query is killed
            SpillFileWriter writer = manager.create(Q1, null, "OrderBy").newWriter();
            writer.write(new byte[100]);
            assertThat(buffers.idleBuffers(WRITE)).isZero();
            manager.queryFailed(Q1, java.util.Set.of());
            assertThat(buffers.idleBuffers(WRITE)).isOne();
            assertThat(manager.spilledBytes()).isZero();
            assertThatThrownBy(() -> writer.write(new byte[1])).isInstanceOf(IllegalStateException.class);
            writer.close();
            assertThat(buffers.idleBuffers(WRITE)).isOne();
            assertThat(buffers.directBytes()).isEqualTo(WRITE + LARGE + READ);
        }
    }

    private SpillFileManager manager(SpillCompression compression, boolean encryption)
    {
        return new SpillFileManager(SpillConfig.builder().spillPaths(spillPath).compression(compression).encryptionEnabled(encryption).build(),
                path -> new DiskUsage(1000, 900));
    }

    private SpillFileManager heapBufferedManager(SpillCompression compression, boolean encryption)
    {
        return new SpillFileManager(SpillConfig.builder().spillPaths(spillPath).compression(compression).encryptionEnabled(encryption).build(),
                path -> new DiskUsage(1000, 900), FileChannel::open, new SpillBuffers(0));
    }

    private static SpillFile written(SpillFileManager manager, int... sizes)
    {
        SpillFile file = manager.create(Q1, null, "OrderBy");
        try (SpillFileWriter writer = file.newWriter()) {
            for (int size : sizes) {
                writer.write(new byte[size]);
            }
        }
        return file;
    }

    private static List<byte[]> readAll(SpillFile file)
    {
        List<byte[]> blocks = new ArrayList<>();
        try (SpillFileReader reader = file.newReader()) {
            reader.forEachRemaining(blocks::add);
        }
        return blocks;
    }

    private static byte[] compressible(int length, int seed)
    {
        byte[] block = new byte[length];
        Random random = new Random(seed);
        for (int i = 0; i < length; i += 8) {
            block[i] = (byte) random.nextInt(4);
        }
        return block;
    }

    /** The payload length at {@code offset}, plus its own 4 bytes and the checksum after the payload: the whole frame. */
    private static long frameLength(Path path, long offset)
            throws IOException
    {
        ByteBuffer length = ByteBuffer.allocate(4);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.read(length, offset);
        }
        return length.getInt(0) + 8L;
    }

    private static void flipBit(Path path, long offset)
            throws IOException
    {
        ByteBuffer bytes = ByteBuffer.allocate(1);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            channel.read(bytes, offset);
            bytes.put(0, (byte) (bytes.get(0) ^ 0x80)).rewind();
            channel.write(bytes, offset);
        }
    }

    private static void write(Path path, long offset, byte[] bytes)
            throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(bytes), offset);
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
}
