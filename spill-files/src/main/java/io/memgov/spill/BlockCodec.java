package io.memgov.spill;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

import static java.util.Objects.requireNonNull;

/**
 * Turns one block into one frame on disk and back. Not thread-safe: each writer and reader has its own.
 *
 * <pre>
 * frame   = int payloadLength, payload
 * payload = body                                     without encryption
 *         = iv (12 bytes), AES-GCM(body, aad = block index), tag (16 bytes)   with encryption
 * body    = byte codec (0 raw, 1 LZ4), int rawLength, data
 * </pre>
 * The per-block codec byte lets LZ4 leave incompressible blocks as they are. The block index as associated data makes
 * a reordered or misplaced block fail authentication.
 */
final class BlockCodec
{
    static final int LENGTH_BYTES = Integer.BYTES;
    private static final int BODY_HEADER_BYTES = 1 + Integer.BYTES;
    private static final int IV_BYTES = 12;
    private static final int TAG_BITS = 128;
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

    /**
     * @param key the query's key, or null to write in clear
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

    /** The whole frame, length prefix included, exactly the bytes to append to the file. */
    byte[] encode(byte[] block, int offset, int length, long blockIndex)
    {
        byte[] body = null;
        int bodyLength = 0;
        if (compression == SpillCompression.LZ4 && length > 0) {
            byte[] compressed = new byte[BODY_HEADER_BYTES + COMPRESSOR.maxCompressedLength(length)];
            int compressedLength = COMPRESSOR.compress(block, offset, length, compressed, BODY_HEADER_BYTES, compressed.length - BODY_HEADER_BYTES);
            if (compressedLength < length) {
                compressed[0] = LZ4;
                body = compressed;
                bodyLength = BODY_HEADER_BYTES + compressedLength;
            }
        }
        if (body == null) {
            body = new byte[BODY_HEADER_BYTES + length];
            body[0] = RAW;
            System.arraycopy(block, offset, body, BODY_HEADER_BYTES, length);
            bodyLength = body.length;
        }
        ByteBuffer.wrap(body, 1, Integer.BYTES).putInt(length);

        if (key == null) {
            byte[] frame = new byte[LENGTH_BYTES + bodyLength];
            ByteBuffer.wrap(frame).putInt(bodyLength);
            System.arraycopy(body, 0, frame, LENGTH_BYTES, bodyLength);
            return frame;
        }
        try {
            byte[] iv = new byte[IV_BYTES];
            random.nextBytes(iv);
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
            cipher.updateAAD(associatedData(blockIndex));
            int payloadLength = IV_BYTES + cipher.getOutputSize(bodyLength);
            byte[] frame = new byte[LENGTH_BYTES + payloadLength];
            ByteBuffer.wrap(frame).putInt(payloadLength).put(iv);
            int written = cipher.doFinal(body, 0, bodyLength, frame, LENGTH_BYTES + IV_BYTES);
            return written == payloadLength - IV_BYTES ? frame : Arrays.copyOf(frame, LENGTH_BYTES + IV_BYTES + written);
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot encrypt spill block", e);
        }
    }

    /** The block a frame's payload (without its length prefix) holds. */
    byte[] decode(byte[] payload, long blockIndex)
            throws IOException
    {
        byte[] body = payload;
        int bodyOffset = 0;
        int bodyLength = payload.length;
        if (key != null) {
            if (payload.length < IV_BYTES) {
                throw new IOException("Spill block " + blockIndex + " is too short to be encrypted: " + payload.length + " bytes");
            }
            try {
                cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, payload, 0, IV_BYTES));
                cipher.updateAAD(associatedData(blockIndex));
                body = cipher.doFinal(payload, IV_BYTES, payload.length - IV_BYTES);
                bodyLength = body.length;
            }
            catch (GeneralSecurityException e) {
                throw new IOException("Spill block " + blockIndex + " failed authentication: the file was damaged or is not this query's", e);
            }
        }
        if (bodyLength < BODY_HEADER_BYTES) {
            throw new IOException("Spill block " + blockIndex + " is truncated: " + bodyLength + " bytes");
        }
        byte codec = body[bodyOffset];
        int rawLength = ByteBuffer.wrap(body, bodyOffset + 1, Integer.BYTES).getInt();
        int dataOffset = bodyOffset + BODY_HEADER_BYTES;
        int dataLength = bodyLength - BODY_HEADER_BYTES;
        if (codec == RAW && rawLength == dataLength) {
            return Arrays.copyOfRange(body, dataOffset, dataOffset + dataLength);
        }
        if (codec == LZ4 && rawLength >= 0) {
            byte[] block = new byte[rawLength];
            try {
                if (DECOMPRESSOR.decompress(body, dataOffset, dataLength, block, 0, rawLength) == rawLength) {
                    return block;
                }
            }
            catch (RuntimeException e) {
                throw new IOException("Spill block " + blockIndex + " cannot be decompressed", e);
            }
        }
        throw new IOException("Spill block " + blockIndex + " is damaged: codec " + codec + ", length " + rawLength + ", data " + dataLength + " bytes");
    }

    private static byte[] associatedData(long blockIndex)
    {
        return ByteBuffer.allocate(Long.BYTES).putLong(blockIndex).array();
    }
}
