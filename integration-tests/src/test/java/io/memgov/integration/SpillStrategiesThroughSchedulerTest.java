package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumer;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * others.md §4 scenarios 17 (Spark's victim order, strategy {@code smallest-sufficient}) and 14 (DataFusion's fair
 * share, strategy {@code fair-share}) end to end: the strategies come from the plugin-spill jar on the class path, and
 * the engine's own revoking scheduler, triggered by the pool, picks and asks the operators. plugin-spill's unit tests
 * check the choices on snapshots; these check that the engine offers the right consumers (sizes, requester, pool
 * state) and asks exactly the ones chosen.
 */
final class SpillStrategiesThroughSchedulerTest
{
    private static final long MB = 1024 * 1024;

    @Test
    void sparkSpillsTheSmallestOtherConsumerThatCoversTheNeed()
    {
        // scenario 17, need 30: others hold 10/40/100 MB, the requester pushes free to -30 MB; only the 40 spills
        assertThat(sparkVictims(80 * MB)).containsExactly("40MB");
    }

    @Test
    void sparkSpillsLargestFirstWhenNoneCoversAndKeepsTheRequesterWhenTheOthersSuffice()
    {
        // need 150: 100, 40 and 10 cover it exactly, so the requester keeps its memory
        assertThat(sparkVictims(200 * MB)).containsExactlyInAnyOrder("10MB", "40MB", "100MB");
    }

    @Test
    void sparkSpillsTheRequesterLastWhenTheOthersAreNotEnough()
    {
        // need 160: "then self"
        assertThat(sparkVictims(210 * MB)).containsExactlyInAnyOrder("10MB", "40MB", "100MB", "requester");
    }

    private static List<String> sparkVictims(long requesterBytes)
    {
        try (MemoryEngine engine = engine("smallest-sufficient", 200 * MB, "1", "1")) {
            TaskMemoryContext task = engine.node(0).createQuery(QueryId.of("spark"), QuerySession.of("alice")).addTask("0");
            Map<String, Recorder> consumers = new LinkedHashMap<>();
            for (String name : List.of("10MB", "40MB", "100MB", "requester")) {
                consumers.put(name, new Recorder(task.addOperator(name)));
            }
            consumers.get("10MB").operator.revocableMemory().setBytes(10 * MB);
            consumers.get("40MB").operator.revocableMemory().setBytes(40 * MB);
            consumers.get("100MB").operator.revocableMemory().setBytes(100 * MB);
            // the requester's allocation is the one that overfills the pool
            consumers.get("requester").operator.revocableMemory().setBytes(requesterBytes);

            await().atMost(Duration.ofSeconds(10)).until(() -> consumers.values().stream().anyMatch(Recorder::asked));
            settle(engine);
            return consumers.entrySet().stream().filter(entry -> entry.getValue().asked()).map(Map.Entry::getKey).toList();
        }
    }

    @Test
    void dataFusionRevokesOnlySpillersAboveTheirFairShare()
    {
        // scenario 14: pool 100 with 20 bytes unspillable and 2 spillers: each is entitled to (100 - 20) / 2 = 40
        // threshold 1 starts revoking at free <= 0; target 0.9 then asks for 10 bytes more than that
        try (MemoryEngine engine = engine("fair-share", 100, "1", "0.9")) {
            TaskMemoryContext task = engine.node(0).createQuery(QueryId.of("datafusion"), QuerySession.of("alice")).addTask("0");
            // the host keeps its operators' handles: a dropped handle is released by the cleaner when a GC runs
            OperatorMemoryContext unspillable = task.addOperator("Unspillable");
            unspillable.userMemory().setBytes(20);
            Recorder over = new Recorder(task.addOperator("over"));
            Recorder within = new Recorder(task.addOperator("within"));
            over.operator.revocableMemory().setBytes(55);
            within.operator.revocableMemory().setBytes(25);

            await().atMost(Duration.ofSeconds(10)).until(over::asked);
            settle(engine);
            assertThat(within.asked()).isFalse();
            over.spill();

            // a new spiller grows to 70, over its share of 40: it spills, the one within its share does not
            Recorder late = new Recorder(task.addOperator("late"));
            late.operator.revocableMemory().setBytes(70);
            await().atMost(Duration.ofSeconds(10)).until(late::asked);
            settle(engine);
            assertThat(within.asked()).isFalse();
            assertThat(over.starts.get()).isEqualTo(1);
            late.spill();
            assertThat(engine.node(0).pool().freeBytes()).isEqualTo(100 - 20 - 25);
            Reference.reachabilityFence(unspillable);
            Reference.reachabilityFence(within);
        }
    }

    static MemoryEngine engine(String strategy, long poolBytes, String threshold, String target)
    {
        return MemoryEngine.builder()
                .property("plugin.dir", spillPluginDirectory().toString())
                .property("node.heap-size", "1GB")
                .property("memory.pool.fixed.max-size", String.valueOf(poolBytes))
                .property("memory.spill-strategy.policy", strategy)
                .property("memory-revoking-threshold", threshold)
                .property("memory-revoking-target", target)
                // the pools and consumers below are counted in bytes
                .property("memory.reservation-quantum", "0B")
                .build();
    }

    /**
     * The folder holding plugin-spill's bundled plugin folder: the build keeps plugin-spill off this module's class
     * path, so that it is loaded, as in production, from a plugin directory in its own class loader.
     */
    static Path spillPluginDirectory()
    {
        String folders = System.getProperty("memgov.bundled-plugin-folders");
        assertThat(folders).as("system property memgov.bundled-plugin-folders (set by the surefire configuration)").isNotNull();
        Path folder = Arrays.stream(folders.split(","))
                .map(String::trim)
                .filter(path -> path.endsWith("memgov-plugin-spill"))
                .map(Path::of)
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("memgov.bundled-plugin-folders names no memgov-plugin-spill folder: " + folders));
        assertThat(folder).as("plugin-spill's bundled folder; build plugin-spill first").isDirectory();
        return folder.getParent();
    }

    /** Lets the scheduler run the checks the last pool events and its tick queued, so that an extra ask would show. */
    private static void settle(MemoryEngine engine)
    {
        var scheduler = engine.revokingScheduler(engine.node(0).nodeId()).orElseThrow();
        long checks = scheduler.checks();
        await().atMost(Duration.ofSeconds(10)).until(() -> scheduler.checks() > checks);
        scheduler.checkNow();
    }

    private static final class Recorder
            implements RevocableConsumer
    {
        final OperatorMemoryContext operator;
        final AtomicInteger starts = new AtomicInteger();
        private volatile CompletableFuture<Void> pending;

        Recorder(OperatorMemoryContext operator)
        {
            this.operator = operator;
            operator.setRevocableConsumer(this);
        }

        @Override
        public CompletableFuture<?> startMemoryRevoke()
        {
            starts.incrementAndGet();
            pending = new CompletableFuture<>();
            return pending;
        }

        boolean asked()
        {
            return starts.get() > 0;
        }

        void spill()
        {
            operator.revocableMemory().setBytes(0);
            pending.complete(null);
        }
    }
}
