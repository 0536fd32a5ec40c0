package io.memgov.lab;

import io.memgov.spill.SpillFileReader;
import io.memgov.spill.SpillFileWriter;

import java.io.InputStream;
import java.io.OutputStream;

import static java.util.Objects.requireNonNull;

/**
 * A spill file as a byte stream, for writers that stream (Arrow's IPC format): the bytes go to the file in blocks of
 * {@link #BLOCK_BYTES} and come back block by block.
 */
final class SpillFileStreams
{
    static final int BLOCK_BYTES = 64 * 1024;

    private SpillFileStreams() {}

    /** Writes through {@code writer} in blocks; closing the stream writes the last block and closes the writer. */
    static OutputStream output(SpillFileWriter writer)
    {
        return new BlockOutputStream(writer);
    }

    /** Reads the blocks of {@code reader} as one stream; closing the stream closes the reader. */
    static InputStream input(SpillFileReader reader)
    {
        return new BlockInputStream(reader);
    }

    private static final class BlockOutputStream
            extends OutputStream
    {
        private final SpillFileWriter writer;
        private final byte[] block = new byte[BLOCK_BYTES];
        private int position;
        private boolean closed;

        BlockOutputStream(SpillFileWriter writer)
        {
            this.writer = requireNonNull(writer, "writer is null");
        }

        @Override
        public void write(int b)
        {
            if (position == block.length) {
                flushBlock();
            }
            block[position++] = (byte) b;
        }

        @Override
        public void write(byte[] bytes, int offset, int length)
        {
            while (length > 0) {
                if (position == block.length) {
                    flushBlock();
                }
                int chunk = Math.min(length, block.length - position);
                System.arraycopy(bytes, offset, block, position, chunk);
                position += chunk;
                offset += chunk;
                length -= chunk;
            }
        }

        @Override
        public void close()
        {
            if (closed) {
                return;
            }
            closed = true;
            try {
                flushBlock();
            }
            finally {
                writer.close();
            }
        }

        private void flushBlock()
        {
            if (position > 0) {
                writer.write(block, 0, position);
                position = 0;
            }
        }
    }

    private static final class BlockInputStream
            extends InputStream
    {
        private final SpillFileReader reader;
        private byte[] block = new byte[0];
        private int position;

        BlockInputStream(SpillFileReader reader)
        {
            this.reader = requireNonNull(reader, "reader is null");
        }

        @Override
        public int read()
        {
            if (!fill()) {
                return -1;
            }
            return block[position++] & 0xFF;
        }

        @Override
        public int read(byte[] bytes, int offset, int length)
        {
            if (length == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int chunk = Math.min(length, block.length - position);
            System.arraycopy(block, position, bytes, offset, chunk);
            position += chunk;
            return chunk;
        }

        @Override
        public void close()
        {
            reader.close();
        }

        // the next block when the current one is used up; false at the end of the file
        private boolean fill()
        {
            while (position == block.length) {
                if (!reader.hasNext()) {
                    return false;
                }
                block = reader.next();
                position = 0;
            }
            return true;
        }
    }
}
