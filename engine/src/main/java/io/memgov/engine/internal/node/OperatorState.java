package io.memgov.engine.internal.node;

import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * The accounting state of one operator: its user, system and revocable memory and its side of the revoke handshake,
 * without the handle the host holds ({@code OperatorContext}). Its task holds it strongly and the handle only through
 * a {@link HostHandleLink}, so that a handle the host forgets is collected and the {@link ContextCleaner} runs
 * {@link #collected()}.
 */
final class OperatorState
        implements ExactLocalMemory.Listener
{
    // JVM-wide, so unique on every node; it doubles as the registration order strategies break ties with
    private static final AtomicLong NEXT_ID = new AtomicLong();

    final TaskState task;
    final String tag;
    // a join's replicated build side: its user memory also counts toward query.max-broadcast-memory
    final boolean broadcast;
    final long id = NEXT_ID.incrementAndGet();
    final LocalMemory user;
    final LocalMemory system;
    final LocalMemory revocable;
    // reserved in the node's direct pool; user memory in the heap pool when the node has no direct pool
    final LocalMemory direct;
    // revocable in the node's direct pool; revocable memory in the heap pool when the node has no direct pool
    final LocalMemory directRevocable;
    final RevokeHandshake revoke = new RevokeHandshake(this);
    final HostHandleLink hostHandle = new HostHandleLink();
    // the node's growth sequence number of the operator's last reservation growth, of any kind; 0 if it never grew.
    // The scheduler takes the operator with the highest for the requester
    private final AtomicLong growthSequence;
    private volatile long lastGrowth;

    OperatorState(TaskState task, String tag, boolean broadcast)
    {
        this.task = requireNonNull(task, "task is null");
        this.tag = requireNonNull(tag, "tag is null");
        this.broadcast = broadcast;
        // the task and tag with the pool's slot for them, looked up once for every reservation of this operator
        PoolSlot slot = new PoolSlot(task.taskId, tag, broadcast);
        NodeState node = task.query.node();
        this.growthSequence = node.growthSequence;
        this.user = node.localMemory(ExactLocalMemory.ofTask(task, MemoryKind.USER, slot, this));
        this.system = node.localMemory(ExactLocalMemory.ofTask(task, MemoryKind.SYSTEM, slot, this));
        this.revocable = node.localMemory(ExactLocalMemory.ofTask(task, MemoryKind.REVOCABLE, slot, this));
        // its own slot: a slot keeps one pool's cell, and the direct pool is another pool than the query's heap pool
        boolean directPool = node.directPool() != null;
        PoolSlot directSlot = directPool ? new PoolSlot(task.taskId, tag) : slot;
        this.direct = node.localMemory(ExactLocalMemory.ofTask(task, directPool ? MemoryKind.DIRECT : MemoryKind.USER, directSlot, this));
        this.directRevocable = node.localMemory(ExactLocalMemory.ofTask(task, directPool ? MemoryKind.DIRECT_REVOCABLE : MemoryKind.REVOCABLE, directSlot, this));
    }

    long lastGrowthSequence()
    {
        return lastGrowth;
    }

    /**
     * Called only when a reservation grows, so behind a quantum only when the bytes leave it. No clock: the order is
     * the node's sequence, and an operator that already holds the latest number (nobody grew since) keeps it, so one
     * operator growing again and again reads a shared line and writes nothing.
     */
    @Override
    public void reservationGrew(MemoryKind kind)
    {
        long latest = growthSequence.get();
        if (latest == 0 || lastGrowth != latest) {
            lastGrowth = growthSequence.incrementAndGet();
        }
    }

    @Override
    public void reservationDropped(MemoryKind kind)
    {
        // a request covers both revocable kinds: it is done when neither holds anything
        if ((kind == MemoryKind.REVOCABLE || kind == MemoryKind.DIRECT_REVOCABLE) && revocable.bytes() == 0 && directRevocable.bytes() == 0) {
            revoke.revocableMemoryReleased();
        }
    }

    /** What the pools get back when the operator spills: the reservations of both revocable kinds. */
    long revocableReservedBytes()
    {
        return revocable.reservedBytes() + directRevocable.reservedBytes();
    }

    /** Revocable bytes the host set, of both kinds. */
    long revocableBytes()
    {
        return revocable.bytes() + directRevocable.bytes();
    }

    String describe()
    {
        return task.taskId + " " + tag;
    }

    /**
     * Releases every kind and cancels a pending revoke. Idempotent.
     *
     * @return the bytes released, or -1 if the operator was already closed (by its handle, its task or the cleaner)
     */
    long close()
    {
        boolean closedNow = revoke.cancel(true);
        // every caller releases, so that no close() returns while another is still releasing
        long released = user.close() + system.close() + revocable.close() + direct.close() + directRevocable.close();
        task.operatorClosed(this);
        return closedNow ? released : -1;
    }

    /** The cleaner's action: the handle was collected. See {@link ContextReclamation#operatorCollected}. */
    void collected()
    {
        ContextReclamation.operatorCollected(this);
    }

    /** Drops what the operator holds without the checks of a normal call: the query or task was killed. */
    /** Gives back its memories' reservations beyond their bytes; see {@link LocalMemory#trimReservation()}. */
    long trimReservations()
    {
        return user.trimReservation() + system.trimReservation() + revocable.trimReservation() + direct.trimReservation() + directRevocable.trimReservation();
    }

    /** Bytes its memories hold reserved beyond what they use. */
    long unusedReservationBytes()
    {
        return unused(user) + unused(system) + unused(revocable) + unused(direct) + unused(directRevocable);
    }

    static long unused(LocalMemory memory)
    {
        return Math.max(0, memory.reservedBytes() - memory.bytes());
    }

    void forceRelease()
    {
        revoke.cancel(false);
        user.forceRelease();
        system.forceRelease();
        revocable.forceRelease();
        direct.forceRelease();
        directRevocable.forceRelease();
    }

    @Override
    public String toString()
    {
        return "OperatorContext{" + task.taskId + " " + tag + ", user=" + user.bytes() + ", system=" + system.bytes() + ", revocable=" + revocable.bytes() + ", direct=" + direct.bytes() + ", directRevocable=" + directRevocable.bytes() + "}";
    }
}
