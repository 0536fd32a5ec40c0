package io.memgov.arrow;

import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import org.apache.arrow.memory.AllocationListener;
import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OwnershipTransferResult;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.memory.rounding.DefaultRoundingPolicy;
import org.apache.arrow.memory.rounding.RoundingPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * Arrow Java's allocator governed by one memgov node: the node's {@link RootAllocator}, owned by this object, and the
 * {@link ArrowOperatorMemory} of each operator that allocates off-heap through Arrow. A host makes one per node
 * ({@link #create} or {@link #builder}), asks it for each operator's Arrow memory ({@link #operator}), allocates from
 * the allocators that hands out, and closes it after the node's queries.
 *
 * <p><b>One root per node.</b> A node is memgov's memory domain: its pools are the budget, and a direct-memory pool
 * (when the engine has one) will be its off-heap budget, which this root's limit mirrors; the root's counter is the
 * node's Arrow total, checkable against the node's pools. Arrow moves buffers only between allocators of one root, so
 * operators of one node can hand buffers to each other, and nodes (separate processes in production) cannot.
 *
 * <p>Nothing allocates from the root itself: an allocation from it, or from a child made of it with its listener
 * ({@code getRoot().newChildAllocator(name, init, max)}), fails with {@link IllegalStateException}, so every byte the
 * root counts was reserved by an operator. A child made of the root with a listener of its own escapes governance.
 *
 * <p>Thread-safe.
 */
public final class ArrowNodeMemory
        implements AutoCloseable
{
    /** How long an allocation waits for a full pool unless {@link Builder#maxWait} says otherwise. */
    public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(ArrowNodeMemory.class);

    static {
        // Arrow's allocator classes first: a host that names UnsafeAllocationManager.FACTORY (or Netty's) before Arrow
        // initialized them gets an ExceptionInInitializerError (the factory's ArrowBuf initializes BaseAllocator, whose
        // default configuration reads that same factory, still null). builder(...) runs this before its argument is
        // evaluated
        RootAllocator.isDebug();
    }

    private final NodeMemory node;
    private final RootAllocator root;
    private final Duration maxWait;
    private final Consumer<AllocatorLeak> leakListener;
    // by operator id: one ArrowOperatorMemory per operator, so that one context never has two accounts setting it
    private final Map<Long, ArrowOperatorMemory> operators = new ConcurrentHashMap<>();
    private final AtomicLong leaks = new AtomicLong();
    private volatile boolean closed;

    private ArrowNodeMemory(Builder builder)
    {
        this.node = builder.node;
        this.maxWait = builder.maxWait;
        this.leakListener = builder.leakListener;
        // Arrow's configuration builder cannot be named outside its package, nor its default factory read: the
        // default is left to Arrow by not setting it
        this.root = builder.allocationManagerFactory == null
                ? new RootAllocator(new RootListener(), builder.limitBytes, builder.roundingPolicy)
                : new RootAllocator(RootAllocator.configBuilder()
                        .listener(new RootListener())
                        .maxAllocation(builder.limitBytes)
                        .roundingPolicy(builder.roundingPolicy)
                        .allocationManagerFactory(builder.allocationManagerFactory)
                        .build());
    }

    /** Governs Arrow memory on {@code node} with the defaults: Arrow's default allocation manager, no Arrow limit. */
    public static ArrowNodeMemory create(NodeMemory node)
    {
        return builder(node).build();
    }

    public static Builder builder(NodeMemory node)
    {
        return new Builder(node);
    }

    public NodeMemory node()
    {
        return node;
    }

    /** How long an allocation waits for a full pool before it fails. */
    public Duration maxWait()
    {
        return maxWait;
    }

    /**
     * The Arrow memory of {@code operator}: the same object for every call with the same operator until it is closed.
     *
     * @throws IllegalArgumentException if the operator belongs to another node
     * @throws IllegalStateException if this node's Arrow memory is closed
     */
    public ArrowOperatorMemory operator(OperatorMemoryContext operator)
    {
        requireNonNull(operator, "operator is null");
        if (!operator.task().query().node().nodeId().equals(node.nodeId())) {
            throw new IllegalArgumentException(String.format("Operator %s %s belongs to node %s, not to node %s of this Arrow memory",
                    operator.task().taskId(), operator.tag(), operator.task().query().node().nodeId(), node.nodeId()));
        }
        if (closed) {
            throw new IllegalStateException("Arrow memory of node " + node.nodeId() + " is closed");
        }
        return operators.computeIfAbsent(operator.id(), id -> new ArrowOperatorMemory(this, operator));
    }

    /**
     * Moves the accounting of {@code buffer} to {@code target} (Arrow's {@code transferOwnership}) and carries the move
     * to memgov at once: Arrow calls no listener on a transfer. The receiving operator is reconciled first, so that if
     * a limit refuses the bytes, the sending operator still counts them and the pool's total stays right.
     *
     * @return Arrow's result: the new buffer, owned by {@code target}, and whether it fit Arrow's limit; the caller
     *         still releases {@code buffer}
     * @throws IllegalArgumentException if {@code target} is not a descendant of this node's root
     * @throws io.memgov.spi.query.MemoryLimitExceededException if the receiving operator's limit refuses the bytes:
     *         Arrow moved them, memgov still counts them on the sender
     */
    public OwnershipTransferResult transfer(ArrowBuf buffer, BufferAllocator target)
    {
        requireNonNull(buffer, "buffer is null");
        requireNonNull(target, "target is null");
        if (target.getRoot() != root) {
            throw new IllegalArgumentException("Allocator '" + target.getName() + "' is not an allocator of node " + node.nodeId());
        }
        OperatorAccount from = account(buffer.getReferenceManager().getAllocator());
        OperatorAccount to = account(target);
        OwnershipTransferResult result = buffer.getReferenceManager().transferOwnership(buffer, target);
        if (to != null) {
            to.reconcile();
        }
        if (from != null && from != to) {
            from.reconcile();
        }
        return result;
    }

    /** {@link ArrowOperatorMemory#reconcile()} for every operator of the node. */
    public MemoryFuture reconcile()
    {
        MemoryFuture blocked = MemoryFuture.NOT_BLOCKED;
        for (ArrowOperatorMemory operator : operators.values()) {
            MemoryFuture future = operator.reconcile();
            if (!future.isDone()) {
                blocked = future;
            }
        }
        return blocked;
    }

    /** The node's Arrow total: what the root's counter says its allocators hold, leaked ones included. */
    public long allocatedBytes()
    {
        return root.getAllocatedMemory();
    }

    /** The operators whose Arrow memory is not closed. */
    public List<ArrowOperatorMemory> operators()
    {
        return List.copyOf(operators.values());
    }

    /** How many allocators were closed while they still held memory, since this object was made. */
    public long leakCount()
    {
        return leaks.get();
    }

    /** Arrow's account of the node's allocators: names, bytes, limits, and in debug mode every buffer. */
    public String toVerboseString()
    {
        return root.toVerboseString();
    }

    /**
     * Closes every operator's Arrow memory (reporting leaks, then closing each operator context), then the root. A
     * root that still holds memory (leaked buffers not yet freed) is logged with Arrow's account of it. Idempotent;
     * never throws for a leak.
     */
    @Override
    public void close()
    {
        if (closed) {
            return;
        }
        closed = true;
        for (ArrowOperatorMemory operator : new ArrayList<>(operators.values())) {
            operator.close();
        }
        long outstanding = root.getAllocatedMemory();
        String arrowState = outstanding > 0 ? root.toVerboseString() : null;
        try {
            root.close();
        }
        catch (IllegalStateException e) {
            log.error("Arrow root of node {} closed with {} outstanding (buffers of closed operators not freed): {}",
                    node.nodeId(), succinct(outstanding), arrowState == null ? e.getMessage() : arrowState);
        }
    }

    @Override
    public String toString()
    {
        return "ArrowNodeMemory{node=" + node.nodeId() + ", allocated=" + succinct(allocatedBytes()) + ", operators=" + operators.size() + "}";
    }

    RootAllocator root()
    {
        return root;
    }

    void operatorClosed(ArrowOperatorMemory operator)
    {
        operators.remove(operator.operator().id(), operator);
    }

    void reportLeak(AllocatorLeak leak)
    {
        leaks.incrementAndGet();
        log.error("Arrow allocator '{}' of operator {} {} on node {} closed with {} outstanding ({} memory); Arrow's account:\n{}",
                leak.allocatorName(), leak.taskId(), leak.tag(), leak.nodeId(), succinct(leak.outstandingBytes()), leak.memoryKind(), leak.arrowState());
        try {
            leakListener.accept(leak);
        }
        catch (RuntimeException e) {
            log.error("Leak listener failed for allocator '{}'", leak.allocatorName(), e);
        }
    }

    private static OperatorAccount account(BufferAllocator allocator)
    {
        return allocator.getListener() instanceof OperatorAccount account ? account : null;
    }

    /** The root's listener: forbids allocating outside an operator, and forgets operators' allocators that closed. */
    private final class RootListener
            implements AllocationListener
    {
        @Override
        public void onPreAllocation(long size)
        {
            throw new IllegalStateException(String.format("Allocation of %s from the Arrow root of node %s refused: allocate from an operator's allocator (ArrowOperatorMemory.newAllocator)",
                    succinct(size), node.nodeId()));
        }

        @Override
        public void onChildRemoved(BufferAllocator parentAllocator, BufferAllocator childAllocator)
        {
            OperatorAccount account = account(childAllocator);
            if (account != null) {
                account.removeAllocator(childAllocator);
            }
        }
    }

    /** Options of a node's Arrow memory; each setter checks its argument. */
    public static final class Builder
    {
        private final NodeMemory node;
        private Duration maxWait = DEFAULT_MAX_WAIT;
        private long limitBytes = Long.MAX_VALUE;
        private AllocationManager.Factory allocationManagerFactory;
        private RoundingPolicy roundingPolicy = DefaultRoundingPolicy.DEFAULT_ROUNDING_POLICY;
        private Consumer<AllocatorLeak> leakListener = leak -> {};

        private Builder(NodeMemory node)
        {
            this.node = requireNonNull(node, "node is null");
        }

        /**
         * How long an allocation the pool cannot take waits for memory (memgov's future) before it fails with Arrow's
         * {@code OutOfMemoryException}; zero fails it at once. Default {@link #DEFAULT_MAX_WAIT}.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder maxWait(Duration maxWait)
        {
            requireNonNull(maxWait, "maxWait is null");
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("maxWait is negative: " + maxWait + "; expected zero (fail at once) or a positive duration");
            }
            this.maxWait = maxWait;
            return this;
        }

        /**
         * Arrow's own limit on everything the node's operators hold (the root's {@code maxAllocation}); an allocation
         * past it fails with Arrow's {@code OutOfMemoryException} after memgov granted it, and reserves nothing.
         * Default: none ({@code Long.MAX_VALUE}).
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder limitBytes(long limitBytes)
        {
            if (limitBytes <= 0) {
                throw new IllegalArgumentException("limitBytes must be positive: " + limitBytes);
            }
            this.limitBytes = limitBytes;
            return this;
        }

        /**
         * Where the memory comes from: e.g. {@code UnsafeAllocationManager.FACTORY} (arrow-memory-unsafe) or
         * {@code NettyAllocationManager.FACTORY} (arrow-memory-netty). Default: Arrow's default, chosen by
         * {@code -Darrow.allocation.manager.type} or what is on the class path.
         */
        public Builder allocationManagerFactory(AllocationManager.Factory allocationManagerFactory)
        {
            this.allocationManagerFactory = requireNonNull(allocationManagerFactory, "allocationManagerFactory is null");
            return this;
        }

        /** How Arrow rounds requests: default {@code DefaultRoundingPolicy} (powers of two below the chunk size). */
        public Builder roundingPolicy(RoundingPolicy roundingPolicy)
        {
            this.roundingPolicy = requireNonNull(roundingPolicy, "roundingPolicy is null");
            return this;
        }

        /**
         * Told of every allocator closed while it still held memory, after the leak is logged at ERROR. Called on the
         * thread that closes the operator; it should not block. Default: nothing beyond the log line.
         */
        public Builder leakListener(Consumer<AllocatorLeak> leakListener)
        {
            this.leakListener = requireNonNull(leakListener, "leakListener is null");
            return this;
        }

        public ArrowNodeMemory build()
        {
            return new ArrowNodeMemory(this);
        }
    }
}
