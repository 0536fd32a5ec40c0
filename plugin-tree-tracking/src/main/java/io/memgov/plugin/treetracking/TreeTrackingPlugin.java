package io.memgov.plugin.treetracking;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.tracker.MemoryTrackerFactory;

import java.util.List;

/**
 * ClickHouse's memory tracking for memgov: the tracker policy {@code thread-batched}
 * ({@code memory.tracker.policy=thread-batched}).
 *
 * <p>The policy builds one tree per node: node → user → query → thread. Each thread batches its deltas per tracker
 * up to {@code max-untracked-memory} (4MB) before carrying them up; every level checks its hard limit
 * ({@code max-memory-usage}, {@code max-memory-usage-for-user}, {@code max-server-memory-usage}) and throws
 * {@code MemoryLimitExceededException} with ClickHouse's message, rolling every level back. At the user and node levels
 * the overcommit killer ({@code overcommit-killer=overcommit-ratio}, the default) fails the query with the largest
 * usage-to-soft-limit ratio and lets the requester wait up to {@code memory-usage-overcommit-max-wait} (5s). A
 * correction worker compares the node total with the heap, RSS or cgroup usage every {@code correction-interval}
 * (100ms). {@link NoThrowScope} lets a thread allocate past the limits.
 *
 * <p>Keys under {@code memory.tracker.thread-batched.}, with defaults: {@code max-untracked-memory=4MB},
 * {@code max-memory-usage=0}, {@code max-memory-usage-for-user=0}, {@code max-server-memory-usage=0} (automatic:
 * {@code max-server-memory-usage-to-ram-ratio} × the node's pool; a non-zero value is capped by it),
 * {@code max-server-memory-usage-to-ram-ratio=0.9}, {@code memory-tracker-fault-probability=0},
 * {@code overcommit-killer=overcommit-ratio} ({@code none} disables), {@code memory-overcommit-ratio-denominator=1GB},
 * {@code memory-overcommit-ratio-denominator-for-user=1GB}, {@code memory-usage-overcommit-max-wait=5s},
 * {@code correction-interval=100ms} (0 disables), {@code correction-source=heap} ({@code rss}, {@code cgroup}),
 * {@code correct-tracker=false}.
 *
 * <p>Listed in {@code META-INF/services/io.memgov.spi.MemoryPlugin}.
 *
 * @since 0.1
 */
public final class TreeTrackingPlugin
        implements MemoryPlugin
{
    @Override
    public List<MemoryTrackerFactory> memoryTrackerFactories()
    {
        return List.of(new ThreadBatchedMemoryTrackerFactory());
    }
}
