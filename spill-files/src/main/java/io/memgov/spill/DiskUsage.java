package io.memgov.spill;

/**
 * The size of the file store under a spill path, as {@link java.nio.file.FileStore} reports it.
 *
 * @param totalBytes the store's size; non-negative
 * @param usableBytes what this JVM may still write there; non-negative
 * @since 0.1
 */
public record DiskUsage(long totalBytes, long usableBytes)
{
    public DiskUsage
    {
        if (totalBytes < 0) {
            throw new IllegalArgumentException("totalBytes is negative: " + totalBytes);
        }
        if (usableBytes < 0) {
            throw new IllegalArgumentException("usableBytes is negative: " + usableBytes);
        }
    }

    /** {@code 1 - usable / total}, in [0, 1]; a store reporting no size at all counts as full. */
    public double usedFraction()
    {
        if (totalBytes == 0) {
            return 1.0;
        }
        return Math.max(0, 1.0 - (double) Math.min(usableBytes, totalBytes) / totalBytes);
    }
}
