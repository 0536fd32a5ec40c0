package io.memgov.arrow;

import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.TaskId;

import static java.util.Objects.requireNonNull;

/**
 * An Arrow allocator that was closed while it still held memory (or, in Arrow's debug mode
 * {@code -Darrow.memory.debug.allocator=true}, children or reservations): the operator or the node was closed before
 * every buffer was released.
 *
 * @param nodeId the node whose root the allocator was a child of
 * @param taskId the operator's task
 * @param tag the operator's tag
 * @param allocatorName the allocator's name as Arrow prints it
 * @param memoryKind the memgov context the allocator reserved in: {@code user}, {@code revocable}, {@code system}, {@code direct}, {@code direct revocable} or
 *        {@code custom}
 * @param outstandingBytes what Arrow's counter said the allocator held when it was closed
 * @param arrowState Arrow's own account of the allocator ({@code toVerboseString()}, or the message Arrow's
 *        {@code close()} threw); lists every outstanding buffer in Arrow's debug mode
 */
public record AllocatorLeak(NodeId nodeId, TaskId taskId, String tag, String allocatorName, String memoryKind, long outstandingBytes, String arrowState)
{
    public AllocatorLeak
    {
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        requireNonNull(allocatorName, "allocatorName is null");
        requireNonNull(memoryKind, "memoryKind is null");
        requireNonNull(arrowState, "arrowState is null");
        if (outstandingBytes < 0) {
            throw new IllegalArgumentException("outstandingBytes is negative: " + outstandingBytes);
        }
    }
}
