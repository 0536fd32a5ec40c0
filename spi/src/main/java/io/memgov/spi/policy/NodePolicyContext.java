package io.memgov.spi.policy;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;

/**
 * The context of a policy that governs one node: a pool, a tracker or a spill strategy.
 *
 * @since 1.0
 */
public interface NodePolicyContext
        extends PolicyContext
{
    /** The node the policy works for. Never null. */
    NodeId nodeId();

    /**
     * The heap this node governs, in bytes: {@code node.heap-size} when set, otherwise the JVM's maximum heap.
     * Positive.
     */
    long heapBytes();

    /** The pool budget the engine computed for this node ({@code heapBytes() - headroom}), in bytes. Positive. */
    long poolBytes();

    /**
     * Fails a query on this node with the given code, releasing everything it holds here and telling the host.
     * The first reason a query is failed for is kept. Safe from any thread; returns without waiting for the host.
     *
     * @return true if the query was running on this node and is now failed, false if it was unknown or already failed
     */
    boolean failQuery(QueryId queryId, ErrorCode errorCode, String message);
}
