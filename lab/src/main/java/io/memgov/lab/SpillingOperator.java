package io.memgov.lab;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumer;
import io.memgov.spill.SpillFile;
import io.memgov.spill.SpillFileManager;

import static java.util.Objects.requireNonNull;

/**
 * What the lab's spilling operators share: generated input ({@code rows} rows from {@code seed}), the memory context
 * the input they hold is accounted in (revocable memory when {@code revocable}, user memory otherwise), the revoke
 * handshake that makes them spill it, and the spill files' bookkeeping. A subclass says how many bytes it holds, how to
 * spill them and what to discard on close.
 *
 * <p>Memory is only ever touched by the operator's own thread: {@link RevokeRequests#startMemoryRevoke()} (the revoking
 * scheduler's thread) only records the request, which the operator serves between batches or while it is blocked.
 */
abstract class SpillingOperator
{
    // a reference in an array or a field, with compressed oops (heaps under 32GB)
    static final int REFERENCE_BYTES = 4;
    // an array's header: mark word, compressed class pointer and length
    private static final int ARRAY_HEADER_BYTES = 16;

    final long seed;
    final int rows;
    final OperatorMemoryContext memory;
    final boolean revocable;
    final OperatorDriver driver;
    private final SpillFileManager spillFiles;
    private final TaskId taskId;
    private final RevokeRequests revokes;
    private long spilledBytes;
    // revokes served so far; only the operator's thread touches it
    private long revokesServed;

    /**
     * @param name what the operator is called in error messages
     * @param spillFiles where the operator spills when memory is revoked; required when {@code revocable}
     */
    SpillingOperator(String name, long seed, int rows, OperatorMemoryContext memory, boolean revocable, OperatorDriver driver,
            SpillFileManager spillFiles)
    {
        this.seed = seed;
        this.rows = rows;
        this.memory = requireNonNull(memory, "memory is null");
        this.revocable = revocable;
        this.driver = requireNonNull(driver, "driver is null");
        this.spillFiles = spillFiles;
        this.taskId = memory.task().taskId();
        if (revocable) {
            requireNonNull(spillFiles, "spillFiles is null for a revocable " + name);
        }
        this.revokes = new RevokeRequests(revocable, () -> {
            revokesServed++;
            spill();
        });
    }

    /** What the operator registers with {@code OperatorMemoryContext.setRevocableConsumer}. */
    final RevocableConsumer revocableConsumer()
    {
        return revokes;
    }

    /** Bytes written to all of the operator's spill files so far. */
    final long spilledBytes()
    {
        return spilledBytes;
    }

    /**
     * Reads the whole input into memory (and spill files, when revoked), accounting what it holds as it goes; the first
     * step of an operator's run, then {@link #finishInput()}.
     */
    abstract void readInput()
            throws InterruptedException;

    /** Bytes of input the operator holds in memory now, as accounted in {@link #heldMemory()}. */
    abstract long heldBytes();

    /** The objects holding the operator's input in memory: what {@link #heldBytes()} counts. Tests measure them with JOL. */
    abstract Object[] heldState();

    /** Whether some of the input already went to spill files. */
    abstract boolean spilled();

    /**
     * Writes the input held in memory to spill files and frees it, heap and accounted bytes. Only called when
     * {@code revocable}, on the operator's thread.
     */
    abstract void spill();

    /** Frees what the operator holds on the heap and deletes its spill files; its accounted bytes go with the memory context. */
    abstract void discardHeldAndSpilled();

    /** The heap an array of {@code length} elements of {@code elementBytes} takes: header and elements, 8-byte aligned. */
    static long arrayBytes(long length, int elementBytes)
    {
        return (ARRAY_HEADER_BYTES + length * elementBytes + 7) & ~7L;
    }

    final LocalMemoryContext heldMemory()
    {
        return revocable ? memory.revocableMemory() : memory.userMemory();
    }

    /** Accounts what is held now, serving a pending revoke first and while the pool is full. */
    final void account()
            throws InterruptedException
    {
        revokes.serve();
        driver.setBytes(heldMemory(), heldBytes(), revokes::serve);
    }

    /**
     * Reserves {@code bytes} for what the operator will hold, before it grows to that, and waits while the pool is
     * full. A revoke served first or while waiting spills what is held: then the bytes no longer fit what is held, and
     * this returns false so that the caller works out what it needs again (and calls this again) before growing.
     */
    final boolean reserve(long bytes)
            throws InterruptedException
    {
        long served = revokesServed;
        revokes.serve();
        if (revokesServed != served) {
            return false;
        }
        driver.setBytes(heldMemory(), bytes, revokes::serve);
        return revokesServed == served;
    }

    // no more revokes once the input is complete: what is still held either becomes user memory or is spilled
    final void finishInput()
    {
        revokes.stopAccepting();
        if (!revocable || heldBytes() == 0) {
            return;
        }
        if (!spilled() && driver.trySetBytes(memory.userMemory(), heldBytes())) {
            driver.release(memory.revocableMemory());
        }
        else {
            spill();
        }
    }

    /** A new spill file of the operator's task; the caller keeps it so that {@link #discardHeldAndSpilled()} deletes it. */
    final SpillFile newSpillFile(String tag)
    {
        return spillFiles.create(taskId, tag);
    }

    /** Counts a written spill file in {@link #spilledBytes()}. */
    final void countSpilledBytes(SpillFile file)
    {
        spilledBytes += file.sizeBytes();
    }

    /** Deletes the spill files and releases the operator's memory; completes a revoke request nobody will serve. */
    final void close()
    {
        revokes.cancel();
        discardHeldAndSpilled();
        memory.close();
        driver.closed();
    }
}
