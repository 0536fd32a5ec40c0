package io.memgov.engine;

import io.memgov.engine.EngineMetrics.Kind;
import io.memgov.spi.policy.MetricsSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;

final class EngineMetricsTest
{
    @Test
    void aListenerHearsOfTheMetricsPublishedBeforeItAndAfterItWithTheirKinds()
    {
        EngineMetrics metrics = new EngineMetrics();
        MetricsSink node = metrics.sink("node-0");
        node.gauge("tracked-minus-actual-bytes", -5);
        Map<String, Kind> kinds = new ConcurrentHashMap<>();
        Map<String, LongSupplier> values = new ConcurrentHashMap<>();

        metrics.addListener((name, kind, value) -> {
            kinds.put(name, kind);
            values.put(name, value);
        });
        metrics.sink("cluster").increment("queries-killed-due-to-out-of-memory", 1);

        assertThat(kinds).containsExactlyInAnyOrderEntriesOf(Map.of(
                "node-0.tracked-minus-actual-bytes", Kind.GAUGE,
                "cluster.queries-killed-due-to-out-of-memory", Kind.COUNTER));
        // the suppliers read the live value, not the one at the time of the call
        node.gauge("tracked-minus-actual-bytes", 7);
        metrics.sink("cluster").increment("queries-killed-due-to-out-of-memory", 2);
        assertThat(values.get("node-0.tracked-minus-actual-bytes").getAsLong()).isEqualTo(7);
        assertThat(values.get("cluster.queries-killed-due-to-out-of-memory").getAsLong()).isEqualTo(3);
        assertThat(metrics.snapshot()).isEqualTo(Map.of(
                "cluster.queries-killed-due-to-out-of-memory", 3L,
                "node-0.tracked-minus-actual-bytes", 7L));
    }

    @Test
    @Timeout(30)
    void everyListenerHearsOfEveryMetricExactlyOnceWhilePoliciesPublishConcurrently()
            throws Exception
    {
        // listeners added while four threads publish new names must neither miss one nor hear of one twice
        EngineMetrics metrics = new EngineMetrics();
        int threads = 4;
        int namesPerThread = 500;
        List<Map<String, AtomicInteger>> heard = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> publishers = new ArrayList<>();
            for (int thread = 0; thread < threads; thread++) {
                MetricsSink sink = metrics.sink("node-" + thread);
                publishers.add(executor.submit(() -> {
                    start.await();
                    for (int i = 0; i < namesPerThread; i++) {
                        sink.increment("metric-" + i, 1);
                        sink.increment("metric-" + i, 1);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (int listener = 0; listener < 20; listener++) {
                Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
                metrics.addListener((name, kind, value) -> calls.computeIfAbsent(name, ignored -> new AtomicInteger()).incrementAndGet());
                heard.add(calls);
            }
            for (Future<?> publisher : publishers) {
                publisher.get(20, TimeUnit.SECONDS);
            }
        }
        finally {
            executor.shutdownNow();
        }

        assertThat(metrics.snapshot()).hasSize(threads * namesPerThread).allSatisfy((name, value) -> assertThat(value).isEqualTo(2));
        for (Map<String, AtomicInteger> calls : heard) {
            assertThat(calls).hasSize(threads * namesPerThread);
            assertThat(calls.values()).allSatisfy(count -> assertThat(count).hasValue(1));
        }
    }

    @Test
    void aListenerThatThrowsDoesNotFailThePublisherAndKeepsHearing()
    {
        EngineMetrics metrics = new EngineMetrics();
        List<String> heard = new ArrayList<>();
        metrics.addListener((name, kind, value) -> {
            heard.add(name);
            throw new IllegalStateException("exporter is broken");
        });

        metrics.sink("cluster").gauge("blocked-nodes", 2);
        metrics.sink("cluster").gauge("cluster-user-memory-reservation", 10);

        assertThat(heard).containsExactly("cluster.blocked-nodes", "cluster.cluster-user-memory-reservation");
        assertThat(metrics.snapshot()).containsEntry("cluster.blocked-nodes", 2L);
    }
}
