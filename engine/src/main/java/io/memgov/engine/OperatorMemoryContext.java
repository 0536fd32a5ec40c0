package io.memgov.engine;

import io.memgov.spi.spill.RevocableConsumer;

/**
 * One operator of a task (a consumer such as {@code HashAggregation}), holding user, system and revocable memory.
 * Closing it releases everything it holds.
 *
 * <p><b>Revocable memory.</b> The node's revoking scheduler asks operators that hold revocable memory to give it back
 * ({@link #requestRevocation()}). An operator takes part in one of two ways:
 * <ul>
 *     <li>it registers a {@link RevocableConsumer} with {@link #setRevocableConsumer}: on a request the consumer's
 *     {@code startMemoryRevoke()} is called (on the requesting thread; it must not block, so an operator usually
 *     completes the returned future from its own thread after spilling), and once that future completes normally,
 *     {@code finishMemoryRevoke()}, after which the operator may be asked again. A consumer registered after a
 *     request was made is started at once, on the registering thread;</li>
 *     <li>or it polls {@link #isMemoryRevokingRequested()} between pages and, when set, spills and sets its revocable
 *     memory to zero, which completes the request.</li>
 * </ul>
 * A failed revoke fails the query (the scheduler fails it on every node and tells the engine's failure listeners).
 * Closing the operator, or killing its query or task, cancels a pending request: the consumer's future is cancelled
 * and {@code finishMemoryRevoke()} is not called.
 *
 * <p><b>Forgotten operators.</b> This object is the host's handle; the engine keeps the operator's accounting apart
 * and holds this handle only weakly. A handle that becomes unreachable without {@link #close()} is caught by a
 * {@link java.lang.ref.Cleaner}: what the operator still held is released as {@code close()} would, a WARN line names
 * the query, task and tag, and the node's leak detector is told through
 * {@link io.memgov.spi.leak.MemoryLeakDetector#contextCollected}. A handle is kept reachable by the host's references
 * to it, to its {@link LocalMemoryContext}s, to its registered {@link RevocableConsumer} (the engine holds that only
 * through the handle) and to a {@link MemoryRevocation} of it; the consumer's revoke future keeps it reachable while a
 * revoke runs. Listings ({@link TaskMemoryContext#operators()}) return only handles still alive. An operator whose
 * task handle was collected first is released and reported with its task.
 */
public interface OperatorMemoryContext
        extends AutoCloseable
{
    /** Unique on the node for the engine's lifetime; also increases with each operator created. */
    long id();

    TaskMemoryContext task();

    /** The operator kind, e.g. {@code HashAggregation}; the pool keeps per-tag totals. */
    String tag();

    /** True if the operator was added as a broadcast ({@link TaskMemoryContext#addBroadcastOperator}). */
    boolean isBroadcast();

    LocalMemoryContext userMemory();

    LocalMemoryContext systemMemory();

    LocalMemoryContext revocableMemory();

    /**
     * The operator's off-heap memory (Arrow buffers, direct {@link java.nio.ByteBuffer}s), a fourth context beside
     * user, system and revocable memory. On a node with a direct pool ({@code node.direct-memory-size}) it is reserved
     * there, against {@code query.max-direct-memory-per-node} (refused with
     * {@link io.memgov.spi.query.ErrorCode#EXCEEDED_LOCAL_DIRECT_MEMORY_LIMIT}), and counts toward none of the heap's
     * limits; its future waits for the direct pool. On a node without one it is user memory in the query's heap pool,
     * as if set on {@link #userMemory()} (but a context of its own, so the two never overwrite each other). Same
     * contract and threads as the other contexts; the same object on every call.
     */
    LocalMemoryContext directMemory();

    /**
     * The operator's off-heap memory it can spill when asked: revocable memory in the node's direct pool, with no
     * per-node limit (as Trino's revocable memory has none), revoked by the node's revoking scheduler when the direct
     * pool passes {@code memory-revoking-threshold}. A revoke request covers both revocable kinds: the operator gives
     * back this and {@link #revocableMemory()}, and a polling operator's request completes when both are zero. On a node
     * without a direct pool it is revocable memory in the query's heap pool (a context of its own). Same contract as
     * the other contexts; the same object on every call.
     */
    LocalMemoryContext directRevocableMemory();

    /**
     * Registers the operator's revoke listener. If a revoke was already requested, the consumer is started at once, on
     * this thread (Trino's late listener). The consumer is held as long as this handle is.
     *
     * @throws IllegalStateException if a consumer is already registered, naming the operator, or the operator is closed
     */
    void setRevocableConsumer(RevocableConsumer consumer);

    /** True from a revoke request until the revoke finished, failed or was cancelled. */
    boolean isMemoryRevokingRequested();

    /**
     * Trino's {@code OperatorMemoryContext.requestMemoryRevoking()}: asks the operator to give back its revocable memory.
     * A failure of a revoke requested this way fails the query on this node only; the engine's scheduler uses
     * {@link #requestRevocation()} and fails it on every node.
     *
     * @return the revocable bytes the operator held when asked, or 0 if it holds none, is closed, or was already
     *         asked and has not finished
     */
    long requestMemoryRevoking();

    /** Releases every kind and cancels a pending revoke. Idempotent. */
    void close();
}
