package io.memgov.spill;

/**
 * How spilled blocks are compressed, Trino's {@code spill-compression-codec}.
 *
 * @since 0.1
 */
public enum SpillCompression
{
    /** Blocks are written as they are. */
    NONE,
    /** Each block is compressed with LZ4 on its own; a block that LZ4 would not shrink is written as it is. */
    LZ4,
}
