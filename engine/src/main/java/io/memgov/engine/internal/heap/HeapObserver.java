package io.memgov.engine.internal.heap;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationFilter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * Watches the JVM's garbage collections and keeps the heap figures memgov governs by: the live heap after each
 * collection, after the last full one, smoothed, and the share of wall time spent in GC pauses. One per JVM is enough:
 * the nodes of an embedded cluster share it (each observer receives every notification, so more cost more).
 *
 * <p>It subscribes to the GC notifications of every {@link GarbageCollectorMXBean} (as a {@link NotificationEmitter},
 * with {@link GarbageCollectionNotificationInfo}); no thread of its own polls. The JVM delivers those notifications on
 * one thread of its own (HotSpot's {@code Notification Thread}), in order; that thread updates the figures and then
 * calls the {@linkplain #addListener listeners}. A listener that throws is logged and the others still run: an
 * exception escaping a JMX listener would end that notification's delivery with an {@code AssertionError}.
 *
 * <p>Collections are classified by collector name ({@link CollectionKind}): young are {@code G1 Young Generation},
 * {@code Copy} (Serial), {@code PS Scavenge} (Parallel) and {@code ZGC Minor Cycles}; full are {@code G1 Old
 * Generation}, {@code MarkSweepCompact}, {@code PS MarkSweep}, {@code ZGC Cycles}, {@code ZGC Major Cycles} and
 * {@code Shenandoah Cycles}; pauses are {@code ZGC Pauses}, {@code ZGC Major Pauses}, {@code ZGC Minor Pauses},
 * {@code Shenandoah Pauses} and {@code G1 Concurrent GC}. Another collector is classified by its GC action
 * ({@code end of major GC} is full, {@code end of GC cycle} a concurrent full cycle, an action naming a pause a
 * pause, anything else young). Under Epsilon, which never collects, the figures stay at zero.
 *
 * <p>Thread-safe. {@link #snapshot()} is cheap (a lock held for a few hundred arithmetic operations) and may be
 * called from any thread.
 */
public final class HeapObserver
        implements HeapSource
{
    /** The window of the GC-time fraction: long enough that one multi-second full collection on a big heap is not pressure. */
    public static final Duration DEFAULT_GC_TIME_WINDOW = Duration.ofSeconds(10);
    /** How far each young collection moves the smoothed live figure toward its own (see the package documentation). */
    public static final double DEFAULT_SMOOTHING = 0.3;

    private static final Logger log = LoggerFactory.getLogger(HeapObserver.class);

    private static final NotificationFilter GC_NOTIFICATIONS =
            notification -> GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType());

    private final List<NotificationEmitter> emitters;
    private final Set<String> heapPools;
    private final LongSupplier uptimeMillis;
    private final Object lock = new Object();
    private final HeapStatistics statistics;
    // one entry per registration, removed by identity: the same listener may be added twice
    private final List<Subscriber> listeners = new CopyOnWriteArrayList<>();
    private final NotificationListener notificationListener = this::onNotification;
    private final AtomicBoolean closed = new AtomicBoolean();
    // guarded by lock: uptime less the JVM's GC clock, which starts a few tens of ms later; the least seen (receipt lag included)
    private long clockOffsetMillis = Long.MAX_VALUE;

    private HeapObserver(List<GarbageCollectorMXBean> collectors, List<MemoryPoolMXBean> pools, long maxHeapBytes,
            LongSupplier uptimeMillis, Duration gcTimeWindow, double smoothing)
    {
        this.uptimeMillis = requireNonNull(uptimeMillis, "uptimeMillis is null");
        this.statistics = new HeapStatistics(maxHeapBytes, gcTimeWindow, smoothing);
        this.heapPools = pools.stream()
                .filter(pool -> pool.getType() == MemoryType.HEAP)
                .map(MemoryPoolMXBean::getName)
                .collect(Collectors.toUnmodifiableSet());
        this.emitters = collectors.stream()
                .filter(NotificationEmitter.class::isInstance)
                .map(NotificationEmitter.class::cast)
                .toList();
    }

    /** Starts observing this JVM with {@link #DEFAULT_GC_TIME_WINDOW} and {@link #DEFAULT_SMOOTHING}. */
    public static HeapObserver start()
    {
        return start(DEFAULT_GC_TIME_WINDOW, DEFAULT_SMOOTHING);
    }

    /**
     * Starts observing this JVM: subscribes to every collector's notifications.
     *
     * @param gcTimeWindow the window of the GC-time fraction; at least 1 ms
     * @param smoothing how far each young collection moves the smoothed live figure toward its own, in (0, 1]
     * @throws IllegalArgumentException naming the bad argument
     */
    public static HeapObserver start(Duration gcTimeWindow, double smoothing)
    {
        requireNonNull(gcTimeWindow, "gcTimeWindow is null");
        List<GarbageCollectorMXBean> collectors = ManagementFactory.getGarbageCollectorMXBeans();
        HeapObserver observer = new HeapObserver(collectors, ManagementFactory.getMemoryPoolMXBeans(),
                Runtime.getRuntime().maxMemory(), ManagementFactory.getRuntimeMXBean()::getUptime, gcTimeWindow, smoothing);
        observer.subscribe();
        log.info("Observing garbage collectors {} over heap pools {}, max heap {}", collectors.stream().map(GarbageCollectorMXBean::getName).toList(),
                observer.heapPools.stream().sorted().toList(), succinct(Runtime.getRuntime().maxMemory()));
        return observer;
    }

    private void subscribe()
    {
        List<NotificationEmitter> subscribed = new ArrayList<>();
        try {
            for (NotificationEmitter emitter : emitters) {
                emitter.addNotificationListener(notificationListener, GC_NOTIFICATIONS, null);
                subscribed.add(emitter);
            }
        }
        catch (RuntimeException e) {
            subscribed.forEach(this::unsubscribe);
            throw e;
        }
    }

    /** The figures now; the GC-time fraction is computed for this moment. */
    @Override
    public HeapSnapshot snapshot()
    {
        synchronized (lock) {
            return statistics.snapshot(gcClockNow(uptimeMillis.getAsLong()));
        }
    }

    /**
     * Adds a listener, told after each later collection until its registration or this observer is closed.
     *
     * @throws IllegalStateException when this observer is closed
     */
    @Override
    public Registration addListener(HeapListener listener)
    {
        requireNonNull(listener, "listener is null");
        if (closed.get()) {
            throw new IllegalStateException("heap observer is closed");
        }
        Subscriber subscriber = new Subscriber(listener);
        listeners.add(subscriber);
        return () -> listeners.remove(subscriber);
    }

    /**
     * Unsubscribes from the JVM's notifications and drops the listeners. Idempotent. A notification already being
     * delivered on the notification thread may still reach a listener while this runs; none does after it returns,
     * unless close is called by a listener itself.
     */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        emitters.forEach(this::unsubscribe);
        listeners.clear();
    }

    private void unsubscribe(NotificationEmitter emitter)
    {
        try {
            emitter.removeNotificationListener(notificationListener, GC_NOTIFICATIONS, null);
        }
        catch (ListenerNotFoundException e) {
            throw new IllegalStateException("heap observer was not subscribed to " + emitter, e);
        }
    }

    // on the JVM's notification thread: nothing may escape (see the class documentation)
    private void onNotification(Notification notification, Object ignored)
    {
        if (closed.get()) {
            return;
        }
        HeapCollection collection;
        HeapSnapshot snapshot;
        try {
            collection = toCollection(GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData()));
            long receivedUptimeMillis = uptimeMillis.getAsLong();
            synchronized (lock) {
                clockOffsetMillis = Math.min(clockOffsetMillis, receivedUptimeMillis - collection.endUptimeMillis());
                statistics.record(collection);
                snapshot = statistics.snapshot(gcClockNow(receivedUptimeMillis));
            }
        }
        catch (RuntimeException | Error e) {
            log.error("Cannot read the GC notification {}", notification, e);
            return;
        }
        for (Subscriber subscriber : listeners) {
            if (closed.get()) {
                return;
            }
            try {
                subscriber.listener.onCollection(collection, snapshot);
            }
            catch (RuntimeException | Error e) {
                log.error("Heap listener {} failed on {}", subscriber.listener, collection, e);
            }
        }
    }

    // the time on the GC clock; before any collection there is nothing to measure against, and 0 reads as "now"
    private long gcClockNow(long uptime)
    {
        return clockOffsetMillis == Long.MAX_VALUE ? 0 : uptime - clockOffsetMillis;
    }

    private HeapCollection toCollection(GarbageCollectionNotificationInfo info)
    {
        CollectorNames.Role role = CollectorNames.roleOf(info.getGcName(), info.getGcAction());
        GcInfo gc = info.getGcInfo();
        return new HeapCollection(info.getGcName(), role.kind(), role.concurrent(), info.getGcCause(), gc.getStartTime(), gc.getDuration(),
                heapUsed(gc.getMemoryUsageBeforeGc()), heapUsed(gc.getMemoryUsageAfterGc()));
    }

    private long heapUsed(Map<String, MemoryUsage> usageByPool)
    {
        long used = 0;
        for (Map.Entry<String, MemoryUsage> entry : usageByPool.entrySet()) {
            if (heapPools.contains(entry.getKey())) {
                used += entry.getValue().getUsed();
            }
        }
        return used;
    }

    private static final class Subscriber
    {
        private final HeapListener listener;

        private Subscriber(HeapListener listener)
        {
            this.listener = listener;
        }
    }

    /** A listener's registration. */
    public interface Registration
            extends AutoCloseable
    {
        /** Stops telling the listener. Idempotent. */
        @Override
        void close();
    }
}
