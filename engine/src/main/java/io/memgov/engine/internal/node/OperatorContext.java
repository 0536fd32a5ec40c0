package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.spill.RevocableConsumer;

import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

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
 * through the handle) and to a {@link Revocation} of it; the consumer's revoke future keeps it reachable while a
 * revoke runs. Listings ({@link TaskContext#operators()}) return only handles still alive. An operator whose
 * task handle was collected first is released and reported with its task.
 */
public final class OperatorContext
        implements OperatorMemoryContext
{
    private final OperatorState state;
    // strong: an operator's handle keeps its task's handle alive, so a live operator's task is never collected
    private final TaskContext task;
    private final LocalMemoryContext user;
    private final LocalMemoryContext system;
    private final LocalMemoryContext revocable;
    private final LocalMemoryContext direct;
    private final LocalMemoryContext directRevocable;
    private final Cleaner.Cleanable cleanable;
    // the only strong reference the engine has to the host's consumer: it lives exactly as long as this handle
    @SuppressWarnings({"unused", "FieldCanBeLocal"})
    private volatile RevocableConsumer consumer;
    // the latest request of this operator: the public future its listeners hang on lives as long as this handle
    @SuppressWarnings({"unused", "FieldCanBeLocal"})
    private volatile Revocation lastRevocation;

    OperatorContext(TaskContext task, OperatorState state)
    {
        this.task = requireNonNull(task, "task is null");
        this.state = requireNonNull(state, "state is null");
        this.user = new LocalMemoryHandle(this, state.user);
        this.system = new LocalMemoryHandle(this, state.system);
        this.revocable = new LocalMemoryHandle(this, state.revocable);
        this.direct = new LocalMemoryHandle(this, state.direct);
        this.directRevocable = new LocalMemoryHandle(this, state.directRevocable);
        state.hostHandle.attach(new WeakReference<>(this), state);
        // the action references the state only, never this handle
        this.cleanable = ContextCleaner.register(this, state::collected);
    }

    /** Unique on the node for the engine's lifetime; also increases with each operator created. */
    public long id()
    {
        return state.id;
    }

    public TaskContext task()
    {
        return task;
    }

    /** The operator kind, e.g. {@code HashAggregation}; the pool keeps per-tag totals. */
    public String tag()
    {
        return state.tag;
    }

    /** True if the operator was added as a broadcast ({@link TaskContext#addBroadcastOperator}). */
    public boolean isBroadcast()
    {
        return state.broadcast;
    }

    public LocalMemoryContext userMemory()
    {
        return user;
    }

    public LocalMemoryContext systemMemory()
    {
        return system;
    }

    public LocalMemoryContext revocableMemory()
    {
        return revocable;
    }

    @Override
    public LocalMemoryContext directMemory()
    {
        return direct;
    }

    @Override
    public LocalMemoryContext directRevocableMemory()
    {
        return directRevocable;
    }

    /**
     * Registers the operator's revoke listener. If a revoke was already requested, the consumer is started at once, on
     * this thread (Trino's late listener). The consumer is held as long as this handle is.
     *
     * @throws IllegalStateException if a consumer is already registered, naming the operator, or the operator is closed
     */
    public void setRevocableConsumer(RevocableConsumer consumer)
    {
        requireNonNull(consumer, "consumer is null");
        PendingRevoke pending = state.revoke.setConsumer(consumer);
        this.consumer = consumer;
        if (pending != null) {
            state.revoke.start(pending, consumer);
        }
    }

    /** True from a revoke request until the revoke finished, failed or was cancelled. */
    public boolean isMemoryRevokingRequested()
    {
        return state.revoke.isRequested();
    }

    /**
     * Trino's {@code OperatorContext.requestMemoryRevoking()}: asks the operator to give back its revocable memory.
     * A failure of a revoke requested this way fails the query on this node only; the engine's scheduler uses
     * {@link #requestRevocation()} and fails it on every node.
     *
     * @return the revocable bytes the operator held when asked, or 0 if it holds none, is closed, or was already
     *         asked and has not finished
     */
    public long requestMemoryRevoking()
    {
        return state.revoke.requestFailingQueryOnError();
    }

    /**
     * Asks the operator to give back its revocable memory; called by the node's revoking scheduler. Starts the
     * registered consumer, if any, on this thread.
     *
     * @return the request, or empty if the operator holds no revocable memory, is closed, or was already asked and
     *         has not finished
     */
    public Optional<Revocation> requestRevocation()
    {
        PendingRevoke pending = state.revoke.request();
        if (pending == null) {
            return Optional.empty();
        }
        Revocation revocation = new Revocation(this, pending.requestedBytes);
        lastRevocation = revocation;
        pending.forwardTo(revocation.done);
        return Optional.of(revocation);
    }

    /**
     * Orders the operators of one node by their last reservation increase, of any kind: a higher number grew later;
     * 0 if it never reserved. Numbers of different nodes are not comparable.
     */
    public long lastGrowthSequence()
    {
        return state.lastGrowthSequence();
    }

    /** Releases every kind and cancels a pending revoke. Idempotent. */
    @Override
    public void close()
    {
        state.close();
        // runs the cleaner's action now, which finds the operator closed, and drops the registration
        cleanable.clean();
    }

    // for tests of the accounting underneath
    OperatorState state()
    {
        return state;
    }

    @Override
    public String toString()
    {
        return state.toString();
    }
}
