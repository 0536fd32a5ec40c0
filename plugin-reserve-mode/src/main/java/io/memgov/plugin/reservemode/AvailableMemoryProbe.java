package io.memgov.plugin.reservemode;

/**
 * Reads how much memory is available right now. Called by the pool's checker thread every check interval, and
 * once at start-up; never on the reservation path. Implementations need not be thread-safe beyond that.
 */
interface AvailableMemoryProbe
{
    /**
     * Bytes that could still be allocated now; non-negative.
     *
     * @throws IllegalStateException if the source cannot be read; the message names the file or bean that failed
     */
    long availableBytes();

    /**
     * Total bytes of the source (RAM capped by the cgroup limit, or the maximum heap), used for the automatic reserve.
     *
     * @throws IllegalStateException if the source cannot be read; the message names the file or bean that failed
     */
    long totalBytes();

    /** What the probe reads, for log lines, e.g. {@code /proc/meminfo + cgroup v2 /sys/fs/cgroup/app}. */
    String description();
}
