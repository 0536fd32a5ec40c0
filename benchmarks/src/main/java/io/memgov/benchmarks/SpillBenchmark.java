package io.memgov.benchmarks;

import io.memgov.spi.query.QueryId;
import io.memgov.spill.SpillCompression;
import io.memgov.spill.SpillConfig;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;
import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Spill throughput (issue #5): one operation writes {@link #BYTES_PER_OPERATION} in {@link #BLOCK_BYTES} blocks to a
 * new file, reads every block back into a fresh array, and deletes the file. {@code spillFileManager} goes through
 * {@link SpillFileManager} (placement, per-query and per-node spill accounting, block framing, optional LZ4);
 * {@code rawFileChannel} writes and reads the same bytes with a bare {@link FileChannel}, compressing each block with
 * the same LZ4 codecs the manager uses when {@code compression=LZ4}, so that the ratio is the manager's own overhead.
 *
 * <p>Files live in a fresh temporary directory that is deleted at the end. Neither side forces data to disk, so on
 * a machine with free memory this measures the page cache, the codec and the bookkeeping, not the disk.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class SpillBenchmark
{
    static final int BLOCK_BYTES = 64 * 1024;
    static final int BLOCKS = 128;
    /** Bytes written and read back per operation; {@code run.sh} turns ms/op into MB/s with it. */
    public static final long BYTES_PER_OPERATION = (long) BLOCK_BYTES * BLOCKS;

    private static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestJavaInstance().fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.safeInstance().safeDecompressor();

    @State(Scope.Benchmark)
    public static class Spill
    {
        @Param({"NONE", "LZ4"})
        public String compression;

        Path directory;
        SpillFileManager manager;
        byte[][] blocks;
        byte[] compressed;
        int files;

        @Setup
        public void setUp()
                throws IOException
        {
            directory = Files.createTempDirectory("memgov-spill-bench");
            manager = new SpillFileManager(SpillConfig.builder()
                    .spillPaths(directory)
                    .compression(SpillCompression.valueOf(compression))
                    .build());
            blocks = pages();
            compressed = new byte[Integer.BYTES + COMPRESSOR.maxCompressedLength(BLOCK_BYTES)];
        }

        @TearDown
        public void tearDown()
                throws IOException
        {
            if (manager.openFiles() != 0 || manager.spilledBytes() != 0) {
                throw new IllegalStateException("spill manager still holds " + manager.openFiles() + " files, " + manager.spilledBytes() + " bytes");
            }
            manager.close();
            try (Stream<Path> paths = Files.walk(directory)) {
                paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }

        boolean lz4()
        {
            return compression.equals("LZ4");
        }
    }

    /**
     * Blocks shaped like spilled pages: sorted 8-byte keys, small counters and a low-cardinality string column, which
     * LZ4 compresses by roughly half, as it does real spilled aggregation state.
     */
    static byte[][] pages()
    {
        Random random = new Random(42);
        byte[][] blocks = new byte[BLOCKS][];
        long key = 0;
        for (int b = 0; b < BLOCKS; b++) {
            ByteBuffer block = ByteBuffer.allocate(BLOCK_BYTES);
            while (block.remaining() >= 24) {
                key += 1 + random.nextInt(16);
                block.putLong(key);
                block.putLong(random.nextInt(1000));
                block.putLong(random.nextLong());
            }
            blocks[b] = block.array();
        }
        return blocks;
    }

    @Benchmark
    public long spillFileManager(Spill spill)
    {
        SpillFile file = spill.manager.create(QueryId.of("spill_" + (spill.files++)), null, "OrderBy");
        try {
            try (SpillFileWriter writer = file.newWriter()) {
                for (byte[] block : spill.blocks) {
                    writer.write(block);
                }
            }
            long read = 0;
            try (SpillFileReader reader = file.newReader()) {
                while (reader.hasNext()) {
                    read += reader.next().length;
                }
            }
            return checkRead(read);
        }
        finally {
            file.close();
        }
    }

    @Benchmark
    public long rawFileChannel(Spill spill)
            throws IOException
    {
        Path path = Files.createTempFile(spill.directory, "raw-", ".bin");
        try {
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
                for (byte[] block : spill.blocks) {
                    if (spill.lz4()) {
                        byte[] out = spill.compressed;
                        int length = COMPRESSOR.compress(block, 0, block.length, out, Integer.BYTES, out.length - Integer.BYTES);
                        ByteBuffer framed = ByteBuffer.wrap(out, 0, Integer.BYTES + length);
                        framed.putInt(0, length);
                        writeFully(channel, framed);
                    }
                    else {
                        writeFully(channel, ByteBuffer.wrap(block));
                    }
                }
            }
            long read = 0;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                for (int b = 0; b < BLOCKS; b++) {
                    byte[] block = new byte[BLOCK_BYTES];
                    if (spill.lz4()) {
                        ByteBuffer in = ByteBuffer.wrap(spill.compressed, 0, Integer.BYTES);
                        readFully(channel, in);
                        int length = in.getInt(0);
                        readFully(channel, ByteBuffer.wrap(spill.compressed, Integer.BYTES, length));
                        read += DECOMPRESSOR.decompress(spill.compressed, Integer.BYTES, length, block, 0, block.length);
                    }
                    else {
                        readFully(channel, ByteBuffer.wrap(block));
                        read += block.length;
                    }
                }
            }
            return checkRead(read);
        }
        finally {
            Files.delete(path);
        }
    }

    private static long checkRead(long read)
    {
        if (read != BYTES_PER_OPERATION) {
            throw new IllegalStateException("read back " + read + " bytes, wrote " + BYTES_PER_OPERATION);
        }
        return read;
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer)
            throws IOException
    {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer)
            throws IOException
    {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new UncheckedIOException(new IOException("unexpected end of spill file"));
            }
        }
    }
}
