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

import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Spill throughput (issues #5 and #21): {@link SpillFileManager} against a bare {@link FileChannel} doing the same
 * work ({@link Spill#via}), writing and reading separately, for each {@link Spill#storage storage} and
 * {@link Spill#blockBytes block size}.
 *
 * <ul>
 *     <li>{@code write}: one operation creates a file, writes {@link #BYTES_PER_OPERATION} in blocks, closes it and
 *     deletes it.</li>
 *     <li>{@code read}: one operation opens a file written once in the setup, reads every block into a fresh array
 *     (as a spilling operator gets them back) and closes it.</li>
 * </ul>
 *
 * <p>The raw side is what a host would write without the manager: one {@code write} of a heap-wrapped block per block;
 * reading, one {@code read} per block straight into its array ({@code NONE}), or a 4-byte length then the payload
 * ({@code LZ4}, {@code AES_GCM}). With {@code LZ4} it compresses with the manager's own codecs
 * ({@code fastestJavaInstance().fastCompressor()}, {@code safeInstance().safeDecompressor()}); with {@code AES_GCM}
 * it seals each block with AES-256-GCM under a fresh random 12-byte IV, as the manager does. So each ratio is the
 * manager's own overhead: placement, limits, framing, checksums, buffering.
 *
 * <p>{@code via} is the last parameter, so JMH, which varies the last parameter fastest, measures the raw channel and
 * the manager of one configuration one after the other: a build starting on the machine mid-run then disturbs both
 * sides of a ratio rather than one.
 *
 * <p>Files live in a fresh temporary directory deleted at the end. Nothing is forced to disk: on a machine with free
 * memory this measures the page cache, the codecs and the bookkeeping, which is where a manager's overhead shows.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class SpillBenchmark
{
    /** Bytes written, or read back, per operation; {@code run.sh} turns ms/op into MB/s with it. */
    public static final long BYTES_PER_OPERATION = 16L * 1024 * 1024;

    private static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestJavaInstance().fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.safeInstance().safeDecompressor();
    // one query writes a file per operation and deletes it, as a query spills run after run: one key, one entry
    private static final QueryId WRITING_QUERY = QueryId.of("writing");
    private static final QueryId READING_QUERY = QueryId.of("reading");
    private static final int IV_BYTES = 12;
    private static final int TAG_BITS = 128;

    public static final String RAW_FILE_CHANNEL = "raw";
    public static final String SPILL_FILE_MANAGER = "manager";

    public enum Storage
    {
        NONE, LZ4, AES_GCM
    }

    @State(Scope.Benchmark)
    public static class Spill
    {
        @Param({"NONE", "LZ4", "AES_GCM"})
        public Storage storage;

        @Param({"65536", "1048576"})
        public int blockBytes;

        @Param({RAW_FILE_CHANNEL, SPILL_FILE_MANAGER})
        public String via;

        Path directory;
        SpillFileManager manager;
        byte[][] blocks;
        // the raw side's reused state, as a careful host would keep it
        byte[] scratch;
        final ByteBuffer length = ByteBuffer.allocate(Integer.BYTES);
        final SecureRandom random = new SecureRandom();
        final byte[] iv = new byte[IV_BYTES];
        SecretKey key;
        Cipher cipher;
        // written once, read by every read operation
        Path rawFile;
        SpillFile managedFile;

        @Setup
        public void setUp()
                throws IOException, GeneralSecurityException
        {
            directory = Files.createTempDirectory("memgov-spill-bench");
            manager = new SpillFileManager(SpillConfig.builder()
                    .spillPaths(directory)
                    .compression(storage == Storage.LZ4 ? SpillCompression.LZ4 : SpillCompression.NONE)
                    .encryptionEnabled(storage == Storage.AES_GCM)
                    .build());
            blocks = pages(blockBytes);
            scratch = new byte[Integer.BYTES + IV_BYTES + Math.max(COMPRESSOR.maxCompressedLength(blockBytes), blockBytes + TAG_BITS / 8)];
            KeyGenerator generator = KeyGenerator.getInstance("AES");
            generator.init(256, random);
            key = generator.generateKey();
            cipher = Cipher.getInstance("AES/GCM/NoPadding");
            if (storage == Storage.AES_GCM) {
                warmUpAesGcm(key, random);
            }

            if (raw()) {
                rawFile = writeRaw(this);
            }
            else {
                managedFile = writeManaged(this, READING_QUERY);
            }
        }

        @TearDown
        public void tearDown()
                throws IOException
        {
            if (raw()) {
                Files.delete(rawFile);
            }
            else {
                managedFile.close();
            }
            if (manager.openFiles() != 0 || manager.spilledBytes() != 0) {
                throw new IllegalStateException("spill manager still holds " + manager.openFiles() + " files, " + manager.spilledBytes() + " bytes");
            }
            manager.close();
            try (Stream<Path> paths = Files.walk(directory)) {
                paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }

        boolean raw()
        {
            return via.equals(RAW_FILE_CHANNEL);
        }
    }

    /**
     * Runs the JDK's AES-GCM over 3,000 blocks of 128 KB (about 2.5 s), so that both sides are measured with it compiled.
     * JDK 17 takes another path for inputs over 64 KB and compiles it with its AES and GHASH intrinsics only after some
     * hundreds of such calls; until then 1 MB blocks run at about 70 MB/s, and a run's warm-up makes about 150. A node
     * that spills encrypted for long runs it compiled.
     */
    private static void warmUpAesGcm(SecretKey key, SecureRandom random)
            throws GeneralSecurityException
    {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        byte[] iv = new byte[IV_BYTES];
        byte[] plain = new byte[128 * 1024];
        byte[] sealed = new byte[plain.length + TAG_BITS / 8];
        for (int i = 0; i < 3_000; i++) {
            random.nextBytes(iv);
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
            cipher.doFinal(plain, 0, plain.length, sealed, 0);
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
            cipher.doFinal(sealed, 0, sealed.length, plain, 0);
        }
    }

    /**
     * Blocks shaped like spilled pages: sorted 8-byte keys, small counters and random 8-byte values, which LZ4
     * compresses by roughly half, as it does real spilled aggregation state.
     */
    static byte[][] pages(int blockBytes)
    {
        Random random = new Random(42);
        byte[][] blocks = new byte[(int) (BYTES_PER_OPERATION / blockBytes)][];
        long key = 0;
        for (int b = 0; b < blocks.length; b++) {
            ByteBuffer block = ByteBuffer.allocate(blockBytes);
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
    public long write(Spill spill)
            throws IOException, GeneralSecurityException
    {
        if (spill.raw()) {
            Path path = writeRaw(spill);
            long size = Files.size(path);
            Files.delete(path);
            return size;
        }
        SpillFile file = writeManaged(spill, WRITING_QUERY);
        long size = file.sizeBytes();
        file.close();
        return size;
    }

    @Benchmark
    public long read(Spill spill)
            throws IOException, GeneralSecurityException
    {
        return checkRead(spill.raw() ? readRaw(spill) : readManaged(spill));
    }

    private static long readManaged(Spill spill)
    {
        long read = 0;
        try (SpillFileReader reader = spill.managedFile.newReader()) {
            while (reader.hasNext()) {
                read += reader.next().length;
            }
        }
        return read;
    }

    private static long readRaw(Spill spill)
            throws IOException, GeneralSecurityException
    {
        long read = 0;
        try (FileChannel channel = FileChannel.open(spill.rawFile, StandardOpenOption.READ)) {
            for (int b = 0; b < spill.blocks.length; b++) {
                byte[] block = new byte[spill.blockBytes];
                if (spill.storage == Storage.NONE) {
                    readFully(channel, ByteBuffer.wrap(block));
                    read += block.length;
                    continue;
                }
                spill.length.clear();
                readFully(channel, spill.length);
                int length = spill.length.getInt(0);
                readFully(channel, ByteBuffer.wrap(spill.scratch, 0, length));
                if (spill.storage == Storage.LZ4) {
                    read += DECOMPRESSOR.decompress(spill.scratch, 0, length, block, 0, block.length);
                }
                else {
                    spill.cipher.init(Cipher.DECRYPT_MODE, spill.key, new GCMParameterSpec(TAG_BITS, spill.scratch, 0, IV_BYTES));
                    read += spill.cipher.doFinal(spill.scratch, IV_BYTES, length - IV_BYTES, block, 0);
                }
            }
        }
        return read;
    }

    private static SpillFile writeManaged(Spill spill, QueryId queryId)
    {
        SpillFile file = spill.manager.create(queryId, null, "OrderBy");
        try (SpillFileWriter writer = file.newWriter()) {
            for (byte[] block : spill.blocks) {
                writer.write(block);
            }
        }
        return file;
    }

    private static Path writeRaw(Spill spill)
            throws IOException, GeneralSecurityException
    {
        Path path = Files.createTempFile(spill.directory, "raw-", ".bin");
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            for (byte[] block : spill.blocks) {
                byte[] out = spill.scratch;
                int length;
                switch (spill.storage) {
                    case NONE -> {
                        writeFully(channel, ByteBuffer.wrap(block));
                        continue;
                    }
                    case LZ4 -> length = COMPRESSOR.compress(block, 0, block.length, out, Integer.BYTES, out.length - Integer.BYTES);
                    case AES_GCM -> {
                        spill.random.nextBytes(spill.iv);
                        System.arraycopy(spill.iv, 0, out, Integer.BYTES, IV_BYTES);
                        spill.cipher.init(Cipher.ENCRYPT_MODE, spill.key, new GCMParameterSpec(TAG_BITS, spill.iv));
                        length = IV_BYTES + spill.cipher.doFinal(block, 0, block.length, out, Integer.BYTES + IV_BYTES);
                    }
                    default -> throw new IllegalStateException("unknown storage " + spill.storage);
                }
                ByteBuffer framed = ByteBuffer.wrap(out, 0, Integer.BYTES + length);
                framed.putInt(0, length);
                writeFully(channel, framed);
            }
        }
        return path;
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
                throw new EOFException("unexpected end of spill file");
            }
        }
    }
}
