package io.memgov.engine;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The part of a query that runs on one node. Holds the task's operators; user memory up to {@link #GUARANTEED_BYTES}
 * never blocks, so that every task can make progress (Trino's 1 MB guarantee).
 *
 * <p><b>Forgotten tasks.</b> The context {@link QueryMemoryContext#addTask} returns is the host's handle, watched by a
 * {@link java.lang.ref.Cleaner}: if it becomes unreachable without {@link #close()} (and so do all its operators, each
 * of which keeps it reachable, and its {@linkplain #localMemory() own memory context}), the task is closed as
 * {@code close()} would, a WARN line names the query, the task and the tags of the operators it released, and the
 * node's leak detector is told through {@link io.memgov.spi.leak.MemoryLeakDetector#contextCollected}. The host's
 * handle keeps its query's handle reachable ({@link #query()} returns it), so a host that keeps a task keeps its query;
 * a task collected together with its query is released and reported by the query's action instead. The contexts listed
 * by {@link QueryMemoryContext#tasks()} are the query's own views of the same tasks: they work alike, are
 * {@linkplain #equals equal} to the host's handle, but do not keep it reachable.
 */
public interface TaskMemoryContext
        extends AutoCloseable
{
    /** User memory a task may hold before a full pool makes it wait. */
    long GUARANTEED_BYTES = 1024 * 1024;

    TaskId taskId();

    /**
     * The task's query: on the host's handle of the task, the host's handle of the query (which this handle keeps
     * reachable); on a view listed by {@link QueryMemoryContext#tasks()}, the query's view.
     */
    QueryMemoryContext query();

    boolean isSpeculative();

    Instant createTime();

    /** How long ago the task was created: the work lost if it is killed. */
    Duration elapsed();

    /**
     * Adds an operator that holds memory under {@code tag}. The operator's handle keeps the task's handle reachable.
     *
     * @throws IllegalStateException if the task is closed
     */
    OperatorMemoryContext addOperator(String tag);

    /**
     * Adds an operator whose user memory is a broadcast: the replicated build side of a join, which every node holds
     * in full (Presto's hash builder of a replicated join). Its user memory counts toward the query's user and total
     * limits as any operator's does, and also toward {@code query.max-broadcast-memory}: a growth that would take the
     * query's broadcast memory on this node past it fails with
     * {@link io.memgov.spi.query.ErrorCode#EXCEEDED_LOCAL_BROADCAST_JOIN_MEMORY_LIMIT} and changes nothing (a
     * {@code trySetBytes} returns false). Its system and revocable memory are not broadcast. Otherwise as
     * {@link #addOperator}.
     *
     * @throws IllegalStateException if the task is closed
     */
    OperatorMemoryContext addBroadcastOperator(String tag);

    long userBytes();

    long systemBytes();

    long revocableBytes();

    /** The operators not closed whose handles are still reachable. */
    List<OperatorMemoryContext> operators();

    /**
     * The task's own memory: what the task holds that none of its operators owns, such as its output buffer or its
     * exchange clients (Trino's {@code TaskContext.localMemoryContext()}). It is <em>system</em> memory, held by the
     * engine for the query: counted in this task's {@link #systemBytes()}, in its query's, in the query's tracker and
     * in the pool (under this task and the tag {@code (task-local)}), toward the query's total limit but not its user
     * limit, and at no operator. Closing the task, killing it or its query, and the cleaner when the task's handle is
     * collected release it, as they release the operators' memory; after that it refuses changes as an operator's
     * memory does. The returned context keeps the task's handle reachable; every call returns the same memory.
     */
    LocalMemoryContext localMemory();

    boolean isClosed();

    /**
     * Fails this task alone (a task killer chose it): later accounting calls of its operators throw with
     * {@code errorCode}, and everything it holds is released now. The first failure is kept.
     *
     * @return true if this call failed the task
     */
    boolean fail(ErrorCode errorCode, String message);

    /** True once the task or its query was killed; the revoking scheduler no longer asks its operators. */
    boolean isFailed();

    /** Closes every operator, releasing everything the task holds. Idempotent. */
    void close();
}
