package io.memgov.plugin.reservemode;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

import static java.util.Objects.requireNonNull;

/**
 * Available heap: the JVM's maximum heap minus what is in use. "In use" prefers the old generation's usage after the
 * last collection ({@link MemoryPoolMXBean#getCollectionUsage()} of the tenured pool, once a collector that manages
 * it has run), because current heap usage counts garbage that the next young collection would drop; before the first
 * collection, or on a collector without a recognisable old pool, it falls back to the heap's current usage.
 *
 * <p>The old pool is found by name: {@code Old Gen} (G1, Parallel, CMS), {@code Tenured} (Serial) or
 * {@code Old Generation} (generational ZGC). Single-generation collectors (ZGC, Shenandoah) use heap usage.
 */
final class HeapMemoryProbe
        implements AvailableMemoryProbe
{
    private final MemoryMXBean memoryBean;
    private final Optional<MemoryPoolMXBean> oldPool;
    private final List<GarbageCollectorMXBean> collectors;

    HeapMemoryProbe()
    {
        this(ManagementFactory.getMemoryMXBean(), ManagementFactory.getMemoryPoolMXBeans(), ManagementFactory.getGarbageCollectorMXBeans());
    }

    HeapMemoryProbe(MemoryMXBean memoryBean, List<MemoryPoolMXBean> pools, List<GarbageCollectorMXBean> collectors)
    {
        this.memoryBean = requireNonNull(memoryBean, "memoryBean is null");
        this.oldPool = requireNonNull(pools, "pools is null").stream()
                .filter(pool -> pool.getType() == MemoryType.HEAP && isOldGeneration(pool.getName()))
                .findFirst();
        this.collectors = List.copyOf(requireNonNull(collectors, "collectors is null"));
    }

    @Override
    public long availableBytes()
    {
        MemoryUsage heap = readHeap();
        return available(maxHeap(heap), oldGenerationAfterCollection(), heap.getUsed());
    }

    @Override
    public long totalBytes()
    {
        return maxHeap(readHeap());
    }

    @Override
    public String description()
    {
        return oldPool.map(pool -> "JVM heap (" + pool.getName() + " usage after collection)").orElse("JVM heap (current usage)");
    }

    /** The figure, separated from the beans so that tests can check the choice. */
    static long available(long maxHeapBytes, OptionalLong oldGenerationAfterCollectionBytes, long heapUsedBytes)
    {
        long used = oldGenerationAfterCollectionBytes.isPresent() ? oldGenerationAfterCollectionBytes.getAsLong() : heapUsedBytes;
        return Math.max(0, maxHeapBytes - used);
    }

    static boolean isOldGeneration(String poolName)
    {
        String name = poolName.toLowerCase(Locale.ROOT);
        return name.contains("old gen") || name.contains("tenured") || name.contains("old generation");
    }

    private OptionalLong oldGenerationAfterCollection()
    {
        if (oldPool.isEmpty()) {
            return OptionalLong.empty();
        }
        MemoryPoolMXBean pool = oldPool.get();
        // before any collector that manages the old pool has run, its collection usage is a meaningless zero
        boolean collected = collectors.stream()
                .anyMatch(collector -> collector.getCollectionCount() > 0 && List.of(collector.getMemoryPoolNames()).contains(pool.getName()));
        MemoryUsage usage = pool.getCollectionUsage();
        if (!collected || usage == null) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(usage.getUsed());
    }

    private MemoryUsage readHeap()
    {
        try {
            return memoryBean.getHeapMemoryUsage();
        }
        catch (RuntimeException e) {
            throw new IllegalStateException("Cannot read available memory from MemoryMXBean.getHeapMemoryUsage(): " + e, e);
        }
    }

    private static long maxHeap(MemoryUsage heap)
    {
        // the heap maximum is undefined (-1) on some collectors; Runtime knows it then
        return heap.getMax() > 0 ? heap.getMax() : Runtime.getRuntime().maxMemory();
    }
}
