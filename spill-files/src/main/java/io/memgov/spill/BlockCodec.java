package io.memgov.spill;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.zip.CRC32C;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

import static java.util.Objects.requireNonNull;

/**
 * Turns one block into one frame of the format {@link SpillFile} documents, and back. Each writer and reader has its
 * own, and reuses its scratch arrays, checksum and cipher from block to block. Not thread-safe.
 */
final class BlockCodec
{
    /** "MGSF" */
    static final int MAGIC = 0x4D47_5346;
    static final short VERSION = 1;
    static final int FILE_HEADER_BYTES = 8;
    static final int LENGTH_BYTES = 4;
    static final int CHECKSUM_BYTES = 4;
    static final int BODY_HEADER_BYTES = 5;
    static final int IV_BYTES = 12;
    static final int TAG_BYTES = 16;
    private static final byte FLAG_ENCRYPTED = 1;
    private static final byte RAW = 0;
    private static final byte LZ4 = 1;
    private static final String TRANSFORMATION = "AES/GCM/NoPadding";

    // pure Java: no native library is unpacked into the temp directory, and the safe decompressor never reads past
    // its input even if a file was damaged
    private static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestJavaInstance().fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.safeInstance().safeDecompressor();

    private final SpillCompression compression;
    private final SecretKey key;
    private final SecureRandom random;
    private final Cipher cipher;
    private final CRC32C crc = new CRC32C();
    private final byte[] iv = new byte[IV_BYTES];
    private final byte[] associatedData = new byte[Long.BYTES];
    // LZ4 output, or a decrypted body
    private byte[] body = new byte[0];
    // an encrypted payload
    private byte[] sealed = new byte[0];

    // the frame encode() made, valid until the next call: prefix[0, prefixLength) then data[dataOffset, +dataLength),
    // then the checksum the writer computes as it copies them
    final byte[] prefix = new byte[LENGTH_BYTES + BODY_HEADER_BYTES];
    int prefixLength;
    byte[] data;
    int dataOffset;
    int dataLength;

    /**
     * @param compression how {@link #encode} compresses; decoding reads whatever each frame says
     * @param key the query's key, or null to write and read in clear
     */
    BlockCodec(SpillCompression compression, SecretKey key, SecureRandom random)
    {
        this.compression = requireNonNull(compression, "compression is null");
        this.random = requireNonNull(random, "random is null");
        this.key = key;
        try {
            this.cipher = key == null ? null : Cipher.getInstance(TRANSFORMATION);
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        }
    }

    boolean encrypted()
    {
        return key != null;
    }

    // --- writing

    void putFileHeader(ByteBuffer buffer)
    {
        buffer.putInt(MAGIC).putShort(VERSION).put(encrypted() ? FLAG_ENCRYPTED : 0).put((byte) 0);
    }

    /**
     * Encodes one block into {@link #prefix} and {@link #data}, all of the frame but its checksum; {@code data} may be
     * the caller's own array, which must not change until the frame is copied out.
     */
    void encode(byte[] block, int offset, int length, long blockIndex)
    {
        byte codec = RAW;
        byte[] bodyData = block;
        int bodyDataOffset = offset;
        int bodyDataLength = length;
        if (compression == SpillCompression.LZ4 && length > 0) {
            int bound = BODY_HEADER_BYTES + COMPRESSOR.maxCompressedLength(length);
            if (body.length < bound) {
                body = new byte[bound];
            }
            int compressed = COMPRESSOR.compress(block, offset, length, body, BODY_HEADER_BYTES, bound - BODY_HEADER_BYTES);
            // a block LZ4 does not shrink is stored as it is
            if (compressed < length) {
                codec = LZ4;
                bodyData = body;
                bodyDataOffset = BODY_HEADER_BYTES;
                bodyDataLength = compressed;
            }
        }
        // the body header follows the length in the prefix, where the clear layout wants it
        prefix[LENGTH_BYTES] = codec;
        putInt(prefix, LENGTH_BYTES + 1, length);
        int payloadLength;
        if (key == null) {
            prefixLength = LENGTH_BYTES + BODY_HEADER_BYTES;
            data = bodyData;
            dataOffset = bodyDataOffset;
            dataLength = bodyDataLength;
            payloadLength = BODY_HEADER_BYTES + bodyDataLength;
        }
        else {
            payloadLength = seal(bodyData, bodyDataOffset, bodyDataLength, blockIndex);
            prefixLength = LENGTH_BYTES;
            data = sealed;
            dataOffset = 0;
            dataLength = payloadLength;
        }
        putInt(prefix, 0, payloadLength);
    }

    /** Bytes of the frame {@link #encode} made, its checksum included. */
    int frameBytes()
    {
        return prefixLength + dataLength + CHECKSUM_BYTES;
    }

    /** iv, then the body (the header in {@link #prefix}, then the data) encrypted, then the tag, into {@link #sealed}. */
    private int seal(byte[] bodyData, int offset, int length, long blockIndex)
    {
        int payloadLength = IV_BYTES + BODY_HEADER_BYTES + length + TAG_BYTES;
        if (sealed.length < payloadLength) {
            sealed = new byte[payloadLength];
        }
        random.nextBytes(iv);
        System.arraycopy(iv, 0, sealed, 0, IV_BYTES);
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, iv));
            cipher.updateAAD(associatedData(blockIndex));
            int written = cipher.update(prefix, LENGTH_BYTES, BODY_HEADER_BYTES, sealed, IV_BYTES);
            written += cipher.doFinal(bodyData, offset, length, sealed, IV_BYTES + written);
            if (written != payloadLength - IV_BYTES) {
                throw new IllegalStateException("AES-GCM wrote " + written + " bytes for a body of " + (BODY_HEADER_BYTES + length));
            }
            return payloadLength;
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot encrypt spill block", e);
        }
    }

    // --- reading

    /**
     * Checks the file header at the buffer's position and moves past it.
     *
     * @throws SpillFileDamagedException naming what is wrong, if the file is not a spill file of this version written
     *         as this codec reads
     */
    void checkFileHeader(ByteBuffer buffer)
            throws SpillFileDamagedException
    {
        int magic = buffer.getInt();
        short version = buffer.getShort();
        byte flags = buffer.get();
        buffer.get();
        if (magic != MAGIC) {
            throw new SpillFileDamagedException(String.format("not a memgov spill file: it starts with 0x%08x, not 0x%08x", magic, MAGIC));
        }
        if (version != VERSION) {
            throw new SpillFileDamagedException("its format version is " + version + "; this reader reads version " + VERSION);
        }
        if (((flags & FLAG_ENCRYPTED) != 0) != encrypted()) {
            throw new SpillFileDamagedException(encrypted() ? "it was written in clear, but encryption is on" : "it is encrypted, but encryption is off");
        }
    }

    /** Smallest payload a frame may declare. */
    int minimumPayloadBytes()
    {
        return key == null ? BODY_HEADER_BYTES : IV_BYTES + BODY_HEADER_BYTES + TAG_BYTES;
    }

    // --- the checksum, which the writer and the reader compute as they copy a frame, while its bytes are in cache

    void startChecksum()
    {
        crc.reset();
    }

    /** Starts checking a frame read: its length field. Continue with {@link #updateChecksum} over the payload. */
    void startChecksum(int payloadLength)
    {
        crc.reset();
        crc.update(payloadLength >>> 24);
        crc.update(payloadLength >>> 16);
        crc.update(payloadLength >>> 8);
        crc.update(payloadLength);
    }

    void updateChecksum(byte[] bytes, int offset, int length)
    {
        crc.update(bytes, offset, length);
    }

    int checksum()
    {
        return (int) crc.getValue();
    }

    void verifyChecksum(int expected, long blockIndex)
            throws SpillFileDamagedException
    {
        int actual = (int) crc.getValue();
        if (actual != expected) {
            throw new SpillFileDamagedException(String.format("block %d fails its CRC32C check (stored 0x%08x, computed 0x%08x)", blockIndex, expected, actual));
        }
    }

    /** Whether a body with this codec byte holds its block as it is. */
    static boolean isRaw(byte codec)
    {
        return codec == RAW;
    }

    /** The block of a payload whose checksum was verified; {@code payload} is held in this codec's reused arrays or the caller's. */
    byte[] decode(byte[] payload, int payloadLength, long blockIndex)
            throws SpillFileDamagedException
    {
        byte[] bodyBytes = payload;
        int bodyLength = payloadLength;
        if (key != null) {
            bodyLength = open(payload, payloadLength, blockIndex);
            bodyBytes = body;
        }
        byte codec = bodyBytes[0];
        int rawLength = getInt(bodyBytes, 1);
        int dataLength = bodyLength - BODY_HEADER_BYTES;
        if (codec == RAW && rawLength == dataLength) {
            return Arrays.copyOfRange(bodyBytes, BODY_HEADER_BYTES, bodyLength);
        }
        // LZ4 expands at most about 255 times; a larger claim is damage, not a reason to allocate
        if (codec == LZ4 && rawLength >= 0 && rawLength / 255 <= dataLength) {
            byte[] block = new byte[rawLength];
            try {
                if (DECOMPRESSOR.decompress(bodyBytes, BODY_HEADER_BYTES, dataLength, block, 0, rawLength) == rawLength) {
                    return block;
                }
            }
            catch (RuntimeException e) {
                throw new SpillFileDamagedException("block " + blockIndex + " cannot be decompressed", e);
            }
        }
        throw new SpillFileDamagedException("block " + blockIndex + " does not decode: codec " + codec + ", length " + rawLength + ", data " + dataLength + " bytes");
    }

    /** Decrypts an encrypted payload's body into {@link #body}; returns its length. */
    private int open(byte[] payload, int payloadLength, long blockIndex)
            throws SpillFileDamagedException
    {
        int bodyLength = payloadLength - IV_BYTES - TAG_BYTES;
        if (body.length < bodyLength) {
            body = new byte[bodyLength];
        }
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, payload, 0, IV_BYTES));
            cipher.updateAAD(associatedData(blockIndex));
            int written = cipher.doFinal(payload, IV_BYTES, payloadLength - IV_BYTES, body, 0);
            if (written != bodyLength) {
                throw new SpillFileDamagedException("block " + blockIndex + " decrypts to " + written + " bytes, not " + bodyLength);
            }
            return bodyLength;
        }
        catch (GeneralSecurityException e) {
            throw new SpillFileDamagedException("block " + blockIndex + " failed authentication: the file was damaged or is not this query's", e);
        }
    }

    private byte[] associatedData(long blockIndex)
    {
        for (int i = 0; i < Long.BYTES; i++) {
            associatedData[i] = (byte) (blockIndex >>> (56 - 8 * i));
        }
        return associatedData;
    }

    static void putInt(byte[] bytes, int offset, int value)
    {
        bytes[offset] = (byte) (value >>> 24);
        bytes[offset + 1] = (byte) (value >>> 16);
        bytes[offset + 2] = (byte) (value >>> 8);
        bytes[offset + 3] = (byte) value;
    }

    static int getInt(byte[] bytes, int offset)
    {
        return (bytes[offset] & 0xFF) << 24 | (bytes[offset + 1] & 0xFF) << 16 | (bytes[offset + 2] & 0xFF) << 8 | (bytes[offset + 3] & 0xFF);
    }
}
