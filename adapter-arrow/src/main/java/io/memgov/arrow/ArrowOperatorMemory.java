package io.memgov.arrow;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.NodeId;
import org.apache.arrow.memory.BufferAllocator;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * One operator's Arrow memory: hands out {@link BufferAllocator}s, children of the node's root, whose listener
 * reserves in one of the operator's memgov memory contexts before Arrow allocates and frees there when Arrow frees.
 * Obtained from {@link ArrowNodeMemory#operator}; this is the operator's handle for closing: {@link #close()} closes
 * its allocators and then its memgov context.
 *
 * <p><b>Which memory.</b> Each allocator reserves in the context its selector picks:
 * {@code OperatorMemoryContext::userMemory} (the default) for buffers the operator must hold until it finishes, and
 * {@code OperatorMemoryContext::revocableMemory} for state it can spill when the node's revoking scheduler asks (the
 * operator registers a {@link io.memgov.spi.spill.RevocableConsumer} or polls
 * {@link OperatorMemoryContext#isMemoryRevokingRequested()}, writes its vectors out and closes them). An operator
 * that never spills must not use revocable memory: its requests would never complete. Arrow's buffers are off-heap,
 * so on a node with a direct pool ({@code node.direct-memory-size}) the selector picks the role and the direct pool
 * holds the bytes: user memory becomes the operator's {@link OperatorMemoryContext#directMemory() direct memory}
 * (against {@code query.max-direct-memory-per-node}) and revocable memory its
 * {@link OperatorMemoryContext#directRevocableMemory() revocable direct memory}, so the heap pool keeps only the heap;
 * {@link #memoryFor} says which context a selector ends in. On a node without a direct pool one pool governs both, as
 * before. A selector may return any other {@link LocalMemoryContext} as it is. The context is the adapter's
 * alone: it is set to the exact Arrow bytes of the allocators that reserve there, so a host that also reports heap
 * bytes for the operator reports them in another context (another kind, or another operator).
 *
 * <p><b>Exactness.</b> When no allocation, release or transfer of the operator is in progress, each context's
 * {@link LocalMemoryContext#bytes()} equals the sum of {@link BufferAllocator#getAllocatedMemory()} over the
 * allocators reserving there (children included), rounding included: the listener re-reads Arrow's counters at every
 * callback. Arrow moves bytes between allocators without calling any listener in four places: {@code
 * transferOwnership}; releasing the owning reference of memory another allocator {@code retain}ed (ownership moves
 * to that allocator); {@code AllocationReservation.add} and the close of an unused reservation; and the initial
 * reservation of a child allocator created with a listener of its own. The operator's next callback corrects that;
 * to be exact at once, use {@link ArrowNodeMemory#transfer} for transfers, or call {@link #reconcile()} on the
 * operators involved after the others.
 *
 * <p><b>A full pool.</b> An allocation the pool cannot take waits on the context's
 * {@link io.memgov.spi.pool.MemoryFuture} for at most {@link ArrowNodeMemory#maxWait()}; if the pool is still full
 * the allocation fails with Arrow's {@link org.apache.arrow.memory.OutOfMemoryException}, which Arrow's vectors
 * handle as their own. If memgov asks the operator to give memory back meanwhile, the wait ends at once with
 * {@link RevocationRequestedException} (an {@code OutOfMemoryException}): the operator cannot spill from inside an
 * allocation, so it catches that, spills and tries again. A limit fails the allocation with
 * {@link io.memgov.spi.query.MemoryLimitExceededException}, a killed query with
 * {@link io.memgov.spi.query.QueryKilledException}; a refused allocation changes nothing.
 *
 * <p>Thread-safe.
 */
public final class ArrowOperatorMemory
        implements AutoCloseable
{
    private final ArrowNodeMemory node;
    private final OperatorMemoryContext operator;
    // one account per memgov context the operator's allocators reserve in; copy on write under this monitor
    private volatile List<OperatorAccount> accounts = List.of();
    // guarded by this monitor
    private boolean closed;

    ArrowOperatorMemory(ArrowNodeMemory node, OperatorMemoryContext operator)
    {
        this.node = requireNonNull(node, "node is null");
        this.operator = requireNonNull(operator, "operator is null");
    }

    public OperatorMemoryContext operator()
    {
        return operator;
    }

    /** A new allocator whose buffers are the operator's user memory (its direct memory on a node with a direct pool). */
    public BufferAllocator newAllocator(String name)
    {
        return newAllocator(name, OperatorMemoryContext::userMemory, Long.MAX_VALUE);
    }

    /**
     * The context an allocator made with {@code memory} reserves in: what the selector picks, except that on a node
     * with a direct pool user memory is the operator's direct memory and revocable memory its revocable direct memory.
     */
    public LocalMemoryContext memoryFor(Function<OperatorMemoryContext, LocalMemoryContext> memory)
    {
        requireNonNull(memory, "memory is null");
        LocalMemoryContext picked = requireNonNull(memory.apply(operator), "memory selector returned null");
        if (node.node().directPool().isEmpty()) {
            return picked;
        }
        if (picked == operator.userMemory()) {
            return operator.directMemory();
        }
        if (picked == operator.revocableMemory()) {
            return operator.directRevocableMemory();
        }
        return picked;
    }

    /**
     * A new allocator reserving in the context {@code memory} picks, e.g. {@code OperatorMemoryContext::revocableMemory}.
     */
    public BufferAllocator newAllocator(String name, Function<OperatorMemoryContext, LocalMemoryContext> memory)
    {
        return newAllocator(name, memory, Long.MAX_VALUE);
    }

    /**
     * A new allocator reserving in the context {@code memory} picks, a child of the node's root with Arrow's own
     * limit {@code maxBytes} (an allocation past it fails with Arrow's {@code OutOfMemoryException} and reserves
     * nothing). Children the host makes of it with {@code newChildAllocator(name, initReservation, maxAllocation)}
     * inherit its listener and count towards it.
     *
     * @param name shown by Arrow's {@code toVerboseString()} after the task and tag
     * @throws IllegalArgumentException if {@code maxBytes} is not positive
     * @throws IllegalStateException if this operator's Arrow memory is closed
     */
    public BufferAllocator newAllocator(String name, Function<OperatorMemoryContext, LocalMemoryContext> memory, long maxBytes)
    {
        requireNonNull(name, "name is null");
        requireNonNull(memory, "memory is null");
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        LocalMemoryContext context = memoryFor(memory);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("Arrow memory of operator " + describe() + " is closed");
            }
            OperatorAccount account = account(context);
            BufferAllocator allocator = node.root().newChildAllocator(operator.task().taskId() + " " + operator.tag() + " " + name, account, 0, maxBytes);
            account.addAllocator(allocator);
            return allocator;
        }
    }

    /** What Arrow's counters say the operator's allocators hold now, over every context. */
    public long allocatedBytes()
    {
        long total = 0;
        for (OperatorAccount account : accounts) {
            total += account.allocatedBytes();
        }
        return total;
    }

    /** The operator's allocators not closed, in the order they were made. */
    public List<BufferAllocator> allocators()
    {
        List<BufferAllocator> allocators = new ArrayList<>();
        for (OperatorAccount account : accounts) {
            allocators.addAll(account.allocators());
        }
        return allocators;
    }

    /**
     * Sets each of the operator's contexts to what Arrow's counters say now: call it after moving buffers in or out
     * by Arrow's own API (a vector's {@code TransferPair}, {@code retain} then release of the owner, an
     * {@code AllocationReservation}) when memgov must be exact before the operator's next allocation or release.
     *
     * @return a future that is not done if the pool is full after the bytes moved in (they are recorded either way)
     * @throws io.memgov.spi.query.MemoryLimitExceededException if the bytes moved in pass a limit; that context is
     *         unchanged
     * @throws io.memgov.spi.query.QueryKilledException if the query was killed
     */
    public MemoryFuture reconcile()
    {
        MemoryFuture blocked = MemoryFuture.NOT_BLOCKED;
        for (OperatorAccount account : accounts) {
            MemoryFuture future = account.reconcile();
            if (!future.isDone()) {
                blocked = future;
            }
        }
        return blocked;
    }

    /**
     * Closes the operator's allocators, then its memgov context ({@link OperatorMemoryContext#close()}). An allocator
     * that still holds memory is reported as a leak ({@link ArrowNodeMemory.Builder#leakListener}) with Arrow's
     * account of it, and closed nevertheless; its bytes stay counted by the node's root until they are freed.
     * Idempotent; never throws for a leak.
     */
    @Override
    public void close()
    {
        List<OperatorAccount> toClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = accounts;
        }
        try {
            for (OperatorAccount account : toClose) {
                for (AllocatorLeak leak : account.close()) {
                    node.reportLeak(leak);
                }
            }
        }
        finally {
            node.operatorClosed(this);
            operator.close();
        }
    }

    public boolean isClosed()
    {
        synchronized (this) {
            return closed;
        }
    }

    @Override
    public String toString()
    {
        return "ArrowOperatorMemory{" + describe() + ", allocated=" + succinct(allocatedBytes()) + "}";
    }

    // under this monitor
    private OperatorAccount account(LocalMemoryContext context)
    {
        for (OperatorAccount account : accounts) {
            if (account.memory() == context) {
                return account;
            }
        }
        OperatorAccount account = new OperatorAccount(this, context, kindOf(context), node.maxWait().toNanos());
        List<OperatorAccount> grown = new ArrayList<>(accounts);
        grown.add(account);
        accounts = List.copyOf(grown);
        return account;
    }

    private String kindOf(LocalMemoryContext context)
    {
        if (context == operator.userMemory()) {
            return "user";
        }
        if (context == operator.revocableMemory()) {
            return "revocable";
        }
        if (context == operator.systemMemory()) {
            return "system";
        }
        if (context == operator.directMemory()) {
            return "direct";
        }
        if (context == operator.directRevocableMemory()) {
            return "direct revocable";
        }
        return "custom";
    }

    NodeId nodeId()
    {
        return node.node().nodeId();
    }

    String describe()
    {
        return operator.task().taskId() + " " + operator.tag();
    }

    /** The pool an account of {@code kind} reserves in, as a phrase for error messages. */
    String poolDescription(String kind)
    {
        MemoryPool pool = kind.startsWith("direct") ? node.node().directPool().orElse(operator.task().query().pool()) : operator.task().query().pool();
        return String.format("memory pool '%s' of node %s [max %s, reserved %s, revocable %s]",
                pool.id(), nodeId(), succinct(pool.maxBytes()), succinct(pool.reservedBytes()), succinct(pool.reservedRevocableBytes()));
    }
}
