package io.memgov.spill;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Measures the disk under a spill path. The manager asks before placing each new spill file; tests substitute a
 * probe that reports a full disk. Must be thread-safe.
 *
 * @since 0.1
 */
@FunctionalInterface
public interface DiskUsageProbe
{
    /**
     * Reads the total and usable space of the path's file system, the figures {@link java.nio.file.FileStore} gives,
     * through {@link File#getTotalSpace()} and {@link File#getUsableSpace()}: one {@code statvfs} each, where
     * {@code Files.getFileStore} would first scan the mount table (about 65 microseconds with 20 mounts, for every
     * spill file created).
     */
    DiskUsageProbe FILE_STORE = path -> {
        File directory = path.toFile();
        long total = directory.getTotalSpace();
        if (total == 0) {
            // File reports every failure as 0
            throw new IOException("the file system of " + path + " reports no size: not a readable directory on a mounted file system");
        }
        return new DiskUsage(total, directory.getUsableSpace());
    };

    /**
     * @param path an existing spill directory; never null
     * @throws IOException if the store cannot be read; the manager then treats the path as unusable
     */
    DiskUsage measure(Path path)
            throws IOException;
}
