package io.memgov.engine.internal.heap;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.DoubleAccumulator;

/**
 * The program the child-JVM tests run, under a small heap and a chosen collector. It prints one line starting with
 * {@value #RESULT} and made of {@code key=value} pairs (the message last, as it holds spaces), which the test parses.
 * <ul>
 * <li>{@code live <megabytes>}: collects, retains that many megabytes in 16KB arrays, collects again, and prints the
 * observer's figures after each explicit full collection.</li>
 * <li>{@code pressure <share of the heap> <window ms> <seconds> [<GC time threshold> <live threshold> <full
 * collections>]}: retains that share of the max heap, churns short- and medium-lived garbage on another thread, and
 * prints the first decision of a {@link GcPressureDetector} (the default one, unless thresholds are given) that finds
 * pressure, or the last one when none did within the time.</li>
 * </ul>
 */
final class HeapChild
{
    static final String RESULT = "RESULT";

    private static final int CHUNK_BYTES = 16 * 1024;
    // what the JVM adds to each byte[]: a 16-byte header with compressed class pointers
    private static final int ARRAY_HEADER_BYTES = 16;

    // static, so that the collections cannot free what the child retains
    private static final List<byte[]> retained = new ArrayList<>();

    private HeapChild() {}

    public static void main(String[] args)
            throws Exception
    {
        switch (args[0]) {
            case "live" -> live(Long.parseLong(args[1]));
            case "pressure" -> pressure(Double.parseDouble(args[1]), Duration.ofMillis(Long.parseLong(args[2])), Long.parseLong(args[3]),
                    args.length > 4 ? new GcPressureDetector(Double.parseDouble(args[4]), Double.parseDouble(args[5]), Integer.parseInt(args[6])) : new GcPressureDetector());
            default -> throw new IllegalArgumentException("unknown mode: " + args[0]);
        }
    }

    private static void live(long megabytes)
            throws InterruptedException
    {
        try (HeapObserver observer = HeapObserver.start()) {
            Semaphore explicitFull = new Semaphore(0);
            AtomicReference<String> thread = new AtomicReference<>();
            AtomicReference<HeapSnapshot> last = new AtomicReference<>();
            observer.addListener((collection, snapshot) -> {
                if (collection.kind() == CollectionKind.FULL && collection.cause().equals("System.gc()")) {
                    thread.set(Thread.currentThread().getName());
                    last.set(snapshot);
                    explicitFull.release();
                }
            });

            HeapSnapshot baseline = collect(explicitFull, last);
            long payload = megabytes * 1024 * 1024;
            for (long held = 0; held < payload; held += CHUNK_BYTES) {
                retained.add(new byte[CHUNK_BYTES]);
            }
            HeapSnapshot after = collect(explicitFull, last);

            long retainedBytes = (long) retained.size() * (CHUNK_BYTES + ARRAY_HEADER_BYTES);
            System.out.println(String.join(" ", RESULT,
                    "collectors=" + ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName).map(name -> name.replace(' ', '_')).toList().toString().replace(" ", ""),
                    "maxHeap=" + after.maxHeapBytes(),
                    "baselineLive=" + baseline.lastFullLiveBytes(),
                    "live=" + after.lastFullLiveBytes(),
                    "lastLive=" + after.lastLiveBytes(),
                    "smoothedLive=" + after.smoothedLiveBytes(),
                    "retained=" + retainedBytes,
                    "heapPoolsAfterGc=" + heapPoolsAfterGc(),
                    "nonHeapPoolsAfterGc=" + nonHeapPoolsAfterGc(),
                    "young=" + after.youngCollections(),
                    "full=" + after.fullCollections(),
                    "pauses=" + after.pauses(),
                    "thread=" + thread.get().replace(' ', '_')));
        }
    }

    // the same figure read another way: each heap pool's usage after the last collection that covered it
    private static long heapPoolsAfterGc()
    {
        return ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(pool -> pool.getType() == MemoryType.HEAP && pool.getCollectionUsage() != null)
                .mapToLong(pool -> pool.getCollectionUsage().getUsed())
                .sum();
    }

    private static long nonHeapPoolsAfterGc()
    {
        return ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(pool -> pool.getType() == MemoryType.NON_HEAP)
                .mapToLong(pool -> pool.getUsage().getUsed())
                .sum();
    }

    private static HeapSnapshot collect(Semaphore explicitFull, AtomicReference<HeapSnapshot> last)
            throws InterruptedException
    {
        System.gc();
        if (!explicitFull.tryAcquire(5, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no full collection with cause System.gc() reported within 5s");
        }
        return last.get();
    }

    private static void pressure(double share, Duration window, long seconds, GcPressureDetector detector)
            throws InterruptedException
    {
        try (HeapObserver observer = HeapObserver.start(window, HeapObserver.DEFAULT_SMOOTHING)) {
            CountDownLatch detected = new CountDownLatch(1);
            AtomicReference<GcPressure> decision = new AtomicReference<>();
            DoubleAccumulator highestGcTime = new DoubleAccumulator(Math::max, 0);
            observer.addListener((collection, snapshot) -> {
                if (detected.getCount() == 0) {
                    return;
                }
                GcPressure pressure = detector.evaluate(snapshot);
                highestGcTime.accumulate(pressure.gcTimeFraction());
                decision.set(pressure);
                if (pressure.underPressure()) {
                    detected.countDown();
                }
            });

            long started = System.nanoTime();
            long target = (long) (Runtime.getRuntime().maxMemory() * share);
            for (long held = 0; held < target; held += CHUNK_BYTES + ARRAY_HEADER_BYTES) {
                retained.add(new byte[CHUNK_BYTES]);
            }
            Thread churn = new Thread(HeapChild::churn, "churn");
            churn.setDaemon(true);
            churn.start();

            boolean underPressure = detected.await(seconds, TimeUnit.SECONDS);
            GcPressure last = decision.get();
            System.out.println(String.join(" ", RESULT,
                    "pressure=" + underPressure,
                    "gcTimeExceeded=" + (last != null && last.gcTimeExceeded()),
                    "liveHeapExceeded=" + (last != null && last.liveHeapExceeded()),
                    "highestGcTime=" + String.format(Locale.ROOT, "%.3f", highestGcTime.get()),
                    "elapsedMillis=" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
                    "message=" + (last == null ? "none" : last.message())));
        }
        // the churn thread is a daemon: leaving main ends the JVM
    }

    // short-lived garbage, and now and then a retained array replaced, so that the old generation fills with garbage
    // too, as it does when operators build and drop hash tables
    private static void churn()
    {
        Random random = new Random(1);
        Object[] recent = new Object[256];
        for (long i = 0; ; i++) {
            recent[(int) (i & 255)] = new byte[64 + random.nextInt(4096)];
            if ((i & 1023) == 0) {
                retained.set(random.nextInt(retained.size()), new byte[CHUNK_BYTES]);
            }
        }
    }
}
