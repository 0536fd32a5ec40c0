/**
 * Arrow Java's allocator governed by memgov: an operator's Arrow buffers are reserved in its memory context before
 * Arrow allocates them, so that memgov's numbers are the real off-heap bytes. On a node with a direct pool
 * ({@code node.direct-memory-size}) they are reserved there, as direct (or revocable direct) memory, apart from the heap
 * pool; see {@link io.memgov.arrow.ArrowOperatorMemory}.
 *
 * <pre>{@code
 * ArrowNodeMemory arrow = ArrowNodeMemory.create(node);              // one RootAllocator per node
 * ArrowOperatorMemory memory = arrow.operator(operatorContext);
 * BufferAllocator allocator = memory.newAllocator("build-side");      // or (..., OperatorMemoryContext::revocableMemory)
 * ... new IntVector("keys", allocator) ...
 * memory.close();                                                    // its allocators, then the operator context
 * }</pre>
 *
 * <h2>How the listener works</h2>
 * Each (operator, memgov context) pair is one account, the {@link org.apache.arrow.memory.AllocationListener} of
 * every allocator reserving there. It never keeps a running sum of the sizes Arrow tells it: at each callback it
 * sets the context to {@code sum of getAllocatedMemory()} over its allocators plus the allocations in flight (between
 * {@code onPreAllocation} and Arrow counting them). Arrow's counter is the truth, rounding included.
 * <ul>
 *     <li>{@code onPreAllocation}, the only hook that runs before Arrow counts and may throw: reserves. A limit or a
 *     kill throws memgov's exception; a full pool waits on the context's future up to
 *     {@link io.memgov.arrow.ArrowNodeMemory#maxWait()}, then throws Arrow's
 *     {@link org.apache.arrow.memory.OutOfMemoryException}; a revoke request of the operator ends the wait at once
 *     ({@link io.memgov.arrow.RevocationRequestedException}), since the operator can only spill once the allocation
 *     returns. Nothing is changed by a refusal.</li>
 *     <li>{@code onAllocation}, {@code onRelease}, {@code onChildAdded}, {@code onChildRemoved}: re-read the counters.
 *     They must not throw (Arrow has already changed its ledgers), so a kill or a closed context is logged at DEBUG
 *     and a limit passed by bytes that arrived without a callback at WARN.</li>
 *     <li>{@code onFailedAllocation} (Arrow's own limit refused after memgov granted): withdraws and returns false.
 *     memgov's refusals are handled before Arrow counts, and a retry Arrow refuses again ends with no callback, so
 *     asking for one would leak the reservation.</li>
 * </ul>
 *
 * <h2>What Arrow does without a callback, and how it is caught</h2>
 * <ul>
 *     <li>{@code transferOwnership}: use {@link io.memgov.arrow.ArrowNodeMemory#transfer}, or reconcile both
 *     operators after a vector's {@code TransferPair};</li>
 *     <li>releasing the owning reference of memory another allocator {@code retain}ed: ownership moves to that
 *     allocator inside {@code close()}; the host, which shared the buffer, reconciles both operators;</li>
 *     <li>{@code AllocationReservation.add} and the close of an unused reservation: {@code allocateBuffer()} calls
 *     {@code onAllocation}, which re-reads the counter; otherwise reconcile. {@code add} also bypasses memgov's veto:
 *     its bytes are recorded after the fact;</li>
 *     <li>an allocation manager that throws (the JVM out of direct memory): Arrow gives the bytes back and calls
 *     nothing; the thread's next allocation, or a reconcile on that thread, withdraws the reservation.</li>
 * </ul>
 * Every callback of an operator re-reads its counters, so any drift lasts at most until that operator's next
 * allocation or release; {@link io.memgov.arrow.ArrowOperatorMemory#reconcile()} and
 * {@link io.memgov.arrow.ArrowNodeMemory#reconcile()} end it at once.
 *
 * <h2>What the engine could offer</h2>
 * The adapter uses the host API only. Four additions would close its gaps: a close hook on
 * {@link io.memgov.engine.OperatorMemoryContext} (so that closing a task or query, or a kill, closes the operator's
 * allocators; today {@link io.memgov.arrow.ArrowOperatorMemory#close()} is the handle to close); a leak report on
 * {@link io.memgov.engine.NodeMemory} reaching the node's leak detector (today leaks are logged and handed to
 * {@link io.memgov.arrow.ArrowNodeMemory.Builder#leakListener}); arbitration over the direct pool (a full direct pool
 * waits for the revoking scheduler, a release or the cluster loop's killers; the node's arbitrator acts on the heap
 * pool only); and a future that completes when
 * the operator is asked to revoke, so that a waiting allocation need not look for the request every 10 ms.
 */
package io.memgov.arrow;
