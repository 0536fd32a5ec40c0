package io.memgov.spill;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
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
    /** Reads {@link FileStore#getTotalSpace()} and {@link FileStore#getUsableSpace()} of the path's store. */
    DiskUsageProbe FILE_STORE = path -> {
        FileStore store = Files.getFileStore(path);
        return new DiskUsage(store.getTotalSpace(), store.getUsableSpace());
    };

    /**
     * @param path an existing spill directory; never null
     * @throws IOException if the store cannot be read; the manager then treats the path as unusable
     */
    DiskUsage measure(Path path)
            throws IOException;
}
