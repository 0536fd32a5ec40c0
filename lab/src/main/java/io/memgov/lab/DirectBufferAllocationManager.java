package io.memgov.lab;

import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.ReferenceManager;
import org.apache.arrow.memory.util.MemoryUtil;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * The lab's Arrow allocation manager: each Arrow allocation is one JDK direct buffer
 * ({@link ByteBuffer#allocateDirect}), freed the moment Arrow releases it. So Arrow's memory is the JVM's direct
 * memory: {@code -XX:MaxDirectMemorySize} limits it (an allocation past the limit throws the JVM's
 * {@code OutOfMemoryError: Cannot reserve ... bytes of direct buffer memory}) and the {@code direct} buffer pool MXBean
 * counts it. Arrow's own managers take memory the JVM's direct-memory limit never sees (Unsafe's {@code allocateMemory})
 * or keep it pooled after Arrow freed it (Netty's arenas); with this one, a byte that memgov failed to stop shows up as
 * the JVM's own error (etc/workloads/arrow-oversubscribed.yaml).
 *
 * <p>The JVM would return a direct buffer's memory only once the garbage collector found the buffer unreachable;
 * {@link #release0} runs its cleaner at once, through {@code sun.misc.Unsafe.invokeCleaner} (module
 * {@code jdk.unsupported}, which Arrow itself relies on). Sizes are limited to what one {@code ByteBuffer} holds,
 * 2 GB. Thread-safe, as Arrow requires.
 */
final class DirectBufferAllocationManager
        extends AllocationManager
{
    static final AllocationManager.Factory FACTORY = new AllocationManager.Factory()
    {
        @Override
        public AllocationManager create(BufferAllocator accountingAllocator, long size)
        {
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("Arrow allocation of " + size + " bytes: a direct buffer holds at most " + Integer.MAX_VALUE);
            }
            // the memory before the manager: Arrow's constructor registers the manager with the allocator (in debug
            // mode for good), so a manager must never exist without its memory
            ByteBuffer memory = ByteBuffer.allocateDirect((int) size);
            try {
                return new DirectBufferAllocationManager(accountingAllocator, memory);
            }
            catch (RuntimeException | Error e) {
                free(memory);
                throw e;
            }
        }

        @Override
        public ArrowBuf empty()
        {
            return EMPTY;
        }
    };

    private static final MethodHandle INVOKE_CLEANER = invokeCleaner();
    // Arrow's empty buffer: address of a direct buffer of capacity 0, kept for the life of the JVM
    private static final ByteBuffer EMPTY_MEMORY = ByteBuffer.allocateDirect(0);
    private static final ArrowBuf EMPTY = new ArrowBuf(ReferenceManager.NO_OP, null, 0, MemoryUtil.getByteBufferAddress(EMPTY_MEMORY));

    private final ByteBuffer memory;
    private final long address;

    private DirectBufferAllocationManager(BufferAllocator accountingAllocator, ByteBuffer memory)
    {
        super(accountingAllocator);
        this.memory = memory;
        this.address = MemoryUtil.getByteBufferAddress(memory);
    }

    @Override
    public long getSize()
    {
        return memory.capacity();
    }

    @Override
    protected long memoryAddress()
    {
        return address;
    }

    @Override
    protected void release0()
    {
        free(memory);
    }

    private static void free(ByteBuffer memory)
    {
        try {
            INVOKE_CLEANER.invokeExact(memory);
        }
        catch (RuntimeException | Error e) {
            throw e;
        }
        catch (Throwable e) {
            throw new IllegalStateException("Cannot free a direct buffer of " + memory.capacity() + " bytes", e);
        }
    }

    // Unsafe.invokeCleaner(ByteBuffer) on the JDK's Unsafe instance; found by reflection so that no code names sun.misc
    private static MethodHandle invokeCleaner()
    {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            return MethodHandles.lookup()
                    .findVirtual(unsafeClass, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
                    .bindTo(theUnsafe.get(null));
        }
        catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExceptionInInitializerError(new IllegalStateException("Cannot free direct buffers at once: sun.misc.Unsafe.invokeCleaner "
                    + "(module jdk.unsupported) is not available", e));
        }
    }
}
