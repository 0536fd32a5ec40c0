package io.memgov.engine.internal.heap;

import com.sun.management.GarbageCollectionNotificationInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The observer against this JVM's own collectors: {@code System.gc()} runs a full collection whose notification the
 * observer must turn into figures and hand to its listeners. The collector varies with the machine; the child-JVM test
 * pins each one.
 */
final class HeapObserverTest
{
    private static final long AWAIT_SECONDS = 10;

    @Test
    @Timeout(30)
    void seesAnExplicitFullCollectionOnTheNotificationThread()
            throws InterruptedException
    {
        try (HeapObserver observer = HeapObserver.start()) {
            AtomicReference<HeapCollection> seen = new AtomicReference<>();
            AtomicReference<HeapSnapshot> snapshotSeen = new AtomicReference<>();
            AtomicReference<Thread> thread = new AtomicReference<>();
            CountDownLatch full = new CountDownLatch(1);
            observer.addListener((collection, snapshot) -> {
                if (collection.kind() == CollectionKind.FULL && collection.cause().equals("System.gc()") && seen.compareAndSet(null, collection)) {
                    snapshotSeen.set(snapshot);
                    thread.set(Thread.currentThread());
                    full.countDown();
                }
            });

            System.gc();
            assertThat(full.await(AWAIT_SECONDS, TimeUnit.SECONDS)).as("a full collection reported within %ss", AWAIT_SECONDS).isTrue();

            HeapCollection collection = seen.get();
            HeapSnapshot snapshot = snapshotSeen.get();
            assertThat(thread.get()).isNotSameAs(Thread.currentThread());
            assertThat(collection.usedAfterBytes()).isPositive().isLessThanOrEqualTo(snapshot.maxHeapBytes());
            assertThat(collection.endUptimeMillis()).isLessThanOrEqualTo(snapshot.uptimeMillis());
            assertThat(snapshot.fullCollections()).isPositive();
            assertThat(snapshot.lastFullLiveBytes()).isEqualTo(collection.usedAfterBytes());
            assertThat(snapshot.smoothedLiveBytes()).isEqualTo(collection.usedAfterBytes());
            assertThat(snapshot.recentFullCollections()).last().isEqualTo(collection);
            assertThat(snapshot.maxHeapBytes()).isEqualTo(Runtime.getRuntime().maxMemory());
            assertThat(snapshot.gcTimeWindow()).isEqualTo(HeapObserver.DEFAULT_GC_TIME_WINDOW);

            // a later snapshot still holds the collection, and reads the time on the collections' clock
            HeapSnapshot later = observer.snapshot();
            assertThat(later.fullCollections()).isGreaterThanOrEqualTo(snapshot.fullCollections());
            assertThat(later.uptimeMillis()).isBetween(collection.endUptimeMillis(), collection.endUptimeMillis() + 10_000);
        }
    }

    @Test
    @Timeout(30)
    void aListenerThatThrowsDoesNotStopTheOthers()
            throws InterruptedException
    {
        // an exception escaping a JMX listener would end the notification's delivery with an AssertionError
        try (HeapObserver observer = HeapObserver.start()) {
            CountDownLatch thrown = new CountDownLatch(1);
            CountDownLatch after = new CountDownLatch(1);
            observer.addListener((collection, snapshot) -> {
                thrown.countDown();
                throw new IllegalStateException("listener failure on purpose");
            });
            observer.addListener((collection, snapshot) -> after.countDown());

            System.gc();
            assertThat(thrown.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
            assertThat(after.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    @Timeout(30)
    void aClosedObserverTellsNoListener()
            throws Exception
    {
        // the JVM calls the listeners of one notification in the order they subscribed: once a listener subscribed
        // after the observer has seen a collection the collector numbered after the close, the observer's listener
        // would have been called before it
        HeapObserver observer = HeapObserver.start();
        List<HeapCollection> told = new CopyOnWriteArrayList<>();
        AtomicBoolean observerClosed = new AtomicBoolean();
        observer.addListener((collection, snapshot) -> {
            if (observerClosed.get()) {
                told.add(collection);
            }
        });
        Map<String, Long> countsAtClose = new ConcurrentHashMap<>();
        CountDownLatch later = new CountDownLatch(1);
        NotificationListener after = (notification, handback) -> {
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
            Long countAtClose = countsAtClose.get(info.getGcName());
            if (countAtClose != null && info.getGcInfo().getId() > countAtClose) {
                later.countDown();
            }
        };
        List<GarbageCollectorMXBean> collectors = ManagementFactory.getGarbageCollectorMXBeans();
        collectors.forEach(collector -> ((NotificationEmitter) collector).addNotificationListener(after, null, null));
        try {
            observer.close();
            observerClosed.set(true);
            collectors.forEach(collector -> countsAtClose.put(collector.getName(), collector.getCollectionCount()));

            System.gc();
            assertThat(later.await(AWAIT_SECONDS, TimeUnit.SECONDS)).as("a collection after the close reported").isTrue();
            assertThat(told).isEmpty();
            assertThatThrownBy(() -> observer.addListener((collection, snapshot) -> {}))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("heap observer is closed");
            // idempotent
            observer.close();
        }
        finally {
            for (GarbageCollectorMXBean collector : collectors) {
                ((NotificationEmitter) collector).removeNotificationListener(after);
            }
        }
    }

    @Test
    @Timeout(30)
    void aClosedRegistrationStopsOnlyItsListener()
            throws InterruptedException
    {
        try (HeapObserver observer = HeapObserver.start(Duration.ofSeconds(1), 0.5)) {
            List<HeapCollection> removedSaw = new CopyOnWriteArrayList<>();
            CountDownLatch kept = new CountDownLatch(1);
            HeapObserver.Registration removed = observer.addListener((collection, snapshot) -> removedSaw.add(collection));
            // the same listener object may be registered twice; closing one registration leaves the other
            HeapListener counting = (collection, snapshot) -> kept.countDown();
            observer.addListener(counting);
            HeapObserver.Registration duplicate = observer.addListener(counting);

            removed.close();
            removed.close();
            duplicate.close();
            System.gc();
            assertThat(kept.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
            assertThat(removedSaw).isEmpty();
        }
    }

    @Test
    void rejectsBadArguments()
    {
        assertThatThrownBy(() -> HeapObserver.start(Duration.ZERO, 0.3)).hasMessage("gcTimeWindow must be at least 1ms: PT0S");
        assertThatThrownBy(() -> HeapObserver.start(Duration.ofSeconds(1), 2)).hasMessage("smoothing weight must be in (0, 1]: 2.0");
    }
}
