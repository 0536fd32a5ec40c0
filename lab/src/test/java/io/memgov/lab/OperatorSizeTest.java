package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryGovernanceException;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openjdk.jol.info.ClassLayout;
import org.openjdk.jol.info.GraphLayout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What each operator reserves is what it really holds (issue #18, item 5): its retained heap, measured with JOL's
 * {@link GraphLayout} (object graph walk, no agent needed), is within 15% of its reservation at 1k, 10k and 100k rows
 * or groups; and no operator grows before it reserves, so one that blocks for memory holds no more than it was granted.
 */
final class OperatorSizeTest
{
    private static final int[] SIZES = {1_000, 10_000, 100_000};
    private static final double TOLERANCE = 0.15;
    // G1's smallest region; a heap under 2GB gets 1MB regions
    private static final long REGION_BYTES = 1024 * 1024;
    private static final long SEED = 11;
    private static final List<String> MEASUREMENTS = new ArrayList<>();

    private interface OperatorFactory
    {
        SpillingOperator create(int size, OperatorMemoryContext memory, OperatorDriver driver);
    }

    /** One operator of its own query; the handles stay reachable until closed, or the engine's cleaner steps in. */
    private record Operator(QueryMemoryContext query, TaskMemoryContext task, OperatorMemoryContext memory)
            implements AutoCloseable
    {
        static Operator open(MemoryEngine engine, String tag)
        {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q" + tag), QuerySession.of("alice"));
            TaskMemoryContext task = query.addTask("0");
            return new Operator(query, task, task.addOperator(tag));
        }

        @Override
        public void close()
        {
            memory.close();
            task.close();
            query.close();
        }
    }

    @AfterAll
    static void printMeasurements()
    {
        // the table for the record (issue #18 asks for it); the assertions are above it
        System.out.printf("%-28s %8s %12s %12s %7s%n", "operator", "size", "reserved", "measured", "ratio");
        MEASUREMENTS.forEach(System.out::println);
    }

    @Test
    void hashAggregationReservesWhatItsTableRetains()
            throws Exception
    {
        // four rows per key: nearly every key of the domain becomes a group
        assertReservationMatchesRetainedSize(HashAggregation.TAG, (groups, memory, driver) ->
                new HashAggregation(SEED, 4 * groups, groups, memory, false, driver, null));
    }

    @Test
    void sortReservesWhatItsPagesRetain()
            throws Exception
    {
        assertReservationMatchesRetainedSize(Sort.TAG, (rows, memory, driver) -> new Sort(SEED, rows, memory, false, driver, null));
    }

    @Test
    void joinBuildReservesWhatItsPartitionsAndIndexesRetain()
            throws Exception
    {
        for (int rows : SIZES) {
            try (MemoryEngine engine = engine(); Operator handles = Operator.open(engine, JoinBuild.TAG)) {
                OperatorMemoryContext memory = handles.memory();
                JoinBuild join = new JoinBuild(SEED, rows, memory, false, OperatorDriver.unkilled(), null);
                try {
                    join.readInput();
                    assertWithinTolerance(JoinBuild.TAG + " build", rows, memory.userMemory().bytes(), join.heldState());
                    join.buildIndexes();
                    assertWithinTolerance(JoinBuild.TAG + " build+index", rows, memory.userMemory().bytes(), join.heldState());
                }
                finally {
                    join.close();
                }
            }
        }
    }

    @Test
    void theGroupTableReservesWhatItRetainsAtEveryPageBoundaryAndHoldsNoHumongousArray()
    {
        // one page, exactly one page, two pages, and the 1M slots of the sweep's 400k-group tables
        for (int capacity : new int[] {1024, HashAggregation.GroupTable.PAGE_SLOTS, 2 * HashAggregation.GroupTable.PAGE_SLOTS, 1 << 20}) {
            HashAggregation.GroupTable table = new HashAggregation.GroupTable();
            table.resize(capacity);
            GraphLayout layout = GraphLayout.parseInstance(table);
            // the table object itself (a few fields) is the only thing not reserved
            long tableObjectBytes = ClassLayout.parseClass(HashAggregation.GroupTable.class).instanceSize();
            assertThat(HashAggregation.GroupTable.bytes(capacity)).as("bytes of %d slots", capacity).isEqualTo(layout.totalSize() - tableObjectBytes);
            MEASUREMENTS.add(String.format(Locale.ROOT, "%-28s %8d %12d %12d %7.3f", "GroupTable slots", capacity, HashAggregation.GroupTable.bytes(capacity),
                    layout.totalSize(), (double) HashAggregation.GroupTable.bytes(capacity) / layout.totalSize()));
            assertNoHumongousObject("a table of " + capacity + " slots", layout);
        }
    }

    @Test
    void noOperatorHoldsAHumongousArrayAtTheSweepsSizes()
            throws Exception
    {
        // oversubscribed-8x.yaml's sizes: 400k groups, 400k join rows, 2.5M sort rows
        try (MemoryEngine engine = HashAggregationTest.engine("128MB", "64MB")) {
            try (Operator handles = Operator.open(engine, HashAggregation.TAG)) {
                HashAggregation aggregation = new HashAggregation(SEED, 500_000, 400_000, handles.memory(), false, OperatorDriver.unkilled(), null);
                try {
                    aggregation.readInput();
                    assertNoHumongousObject(HashAggregation.TAG, GraphLayout.parseInstance(aggregation.heldState()));
                }
                finally {
                    aggregation.close();
                }
            }
            try (Operator handles = Operator.open(engine, JoinBuild.TAG)) {
                JoinBuild join = new JoinBuild(SEED, 400_000, handles.memory(), false, OperatorDriver.unkilled(), null);
                try {
                    join.readInput();
                    join.buildIndexes();
                    assertNoHumongousObject(JoinBuild.TAG + " build+index", GraphLayout.parseInstance(join.heldState()));
                }
                finally {
                    join.close();
                }
            }
            try (Operator handles = Operator.open(engine, Sort.TAG)) {
                Sort sort = new Sort(SEED, 2_500_000, handles.memory(), false, OperatorDriver.unkilled(), null);
                try {
                    sort.readInput();
                    assertNoHumongousObject(Sort.TAG, GraphLayout.parseInstance(sort.heldState()));
                }
                finally {
                    sort.close();
                }
            }
        }
    }

    /**
     * No object is as large as half a G1 region of 1MB, the smallest: G1 allocates such an object (humongous) in
     * contiguous free regions of its own, never moves it (JDK 17) and wastes the rest of its last region, so a heap
     * with room for it in scattered regions still throws {@code OutOfMemoryError} (issue #18's sweep).
     */
    private static void assertNoHumongousObject(String what, GraphLayout layout)
    {
        long largest = layout.addresses().stream().mapToLong(address -> layout.record(address).size()).max().orElse(0);
        assertThat(largest).as("%s: its largest object", what).isLessThan(REGION_BYTES / 2);
        // and its objects fill regions: a region holds whole objects only, so objects of 128KB and a 16-byte header
        // fit 7 to a region and leave an eighth of it empty, whatever the pool reserved for them (issue #18's heap dump:
        // 53MB of such pages took 61 regions)
        Map<Long, Long> bySize = layout.addresses().stream().collect(Collectors.groupingBy(address -> layout.record(address).size(), Collectors.counting()));
        // the sizes of pages and chunks, not of a one-off object such as a sort's last page, trimmed
        bySize.forEach((size, count) -> {
            if (size >= 4096 && count >= 8) {
                assertThat((double) (REGION_BYTES % size) / REGION_BYTES).as("%s: the part of a 1MB region that its %d objects of %d bytes leave empty",
                        what, count, size).isLessThan(0.01);
            }
        });
    }

    // each grows past the 2MB another query leaves free in a 4MB pool; when it waits, its next step is not taken yet

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aHashAggregationWaitingForMemoryHoldsNoMoreThanItWasGranted()
            throws Exception
    {
        assertGrowsOnlyAfterReserving(HashAggregation.TAG, (groups, memory, driver) -> new HashAggregation(SEED, 2 * groups, groups, memory, false, driver, null));
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aSortWaitingForMemoryHoldsNoMoreThanItWasGranted()
            throws Exception
    {
        assertGrowsOnlyAfterReserving(Sort.TAG, (rows, memory, driver) -> new Sort(SEED, 10 * rows, memory, false, driver, null));
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aJoinBuildWaitingForMemoryHoldsNoMoreThanItWasGranted()
            throws Exception
    {
        assertGrowsOnlyAfterReserving(JoinBuild.TAG, (rows, memory, driver) -> new JoinBuild(SEED, 5 * rows, memory, false, driver, null));
    }

    private static void assertReservationMatchesRetainedSize(String tag, OperatorFactory factory)
            throws Exception
    {
        for (int size : SIZES) {
            try (MemoryEngine engine = engine(); Operator handles = Operator.open(engine, tag)) {
                OperatorMemoryContext memory = handles.memory();
                SpillingOperator operator = factory.create(size, memory, OperatorDriver.unkilled());
                try {
                    operator.readInput();
                    assertWithinTolerance(tag, size, memory.userMemory().bytes(), operator.heldState());
                }
                finally {
                    operator.close();
                }
            }
        }
    }

    private static void assertWithinTolerance(String what, int size, long reserved, Object[] heldState)
    {
        long measured = GraphLayout.parseInstance(heldState).totalSize();
        double ratio = (double) reserved / measured;
        MEASUREMENTS.add(String.format(Locale.ROOT, "%-28s %8d %12d %12d %7.3f", what, size, reserved, measured, ratio));
        assertThat(ratio).as("%s at %d: reserved %d, retained %d", what, size, reserved, measured).isBetween(1 - TOLERANCE, 1 + TOLERANCE);
    }

    /** {@code factory} gets a size of 200000 rows or groups: it outgrows the 2MB left with every operator. */
    private static void assertGrowsOnlyAfterReserving(String tag, OperatorFactory factory)
            throws Exception
    {
        long hogBytes = 2 * 1024 * 1024;
        // no killer: the test, not the cluster loop, ends the waiting query
        try (MemoryEngine engine = MemoryEngine.builder().property("node.heap-size", "20MB").property("memory.heap-headroom-per-node", "16MB")
                        .property("query.max-memory-per-node", "4MB").property("query.low-memory-killer.policy", "none")
                        .property("task.low-memory-killer.policy", "none").build();
                Operator hog = Operator.open(engine, "Hog");
                Operator handles = Operator.open(engine, tag)) {
            assertThat(hog.memory().userMemory().setBytes(hogBytes).isDone()).isTrue();
            long grantable = engine.node(0).pool().maxBytes() - hogBytes;
            AtomicReference<MemoryGovernanceException> kill = new AtomicReference<>();
            AtomicInteger blocked = new AtomicInteger();
            SpillingOperator operator = factory.create(200_000, handles.memory(), new OperatorDriver(kill::get, blocked));
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread thread = new Thread(() -> {
                try {
                    operator.readInput();
                }
                catch (Throwable e) {
                    failure.set(e);
                }
                finally {
                    operator.close();
                }
            }, "operator-" + tag);
            thread.start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> blocked.get() > 0 || !thread.isAlive());
                assertThat(blocked.get()).as("%s waits for memory", tag).isEqualTo(1);
                long retained = GraphLayout.parseInstance(operator.heldState()).totalSize();
                MEASUREMENTS.add(String.format(Locale.ROOT, "%-28s %8s %12d %12d %7.3f", tag + " blocked", "-", grantable, retained, (double) grantable / retained));
                assertThat(retained).as("%s holds while it waits for more than the %d bytes it could be granted", tag, grantable).isLessThanOrEqualTo(grantable);
            }
            finally {
                kill.set(new MemoryGovernanceException(ErrorCode.CLUSTER_OUT_OF_MEMORY, "the test ends the query"));
                thread.join(TimeUnit.SECONDS.toMillis(30));
            }
            assertThat(thread.isAlive()).isFalse();
            assertThat(failure.get()).isInstanceOf(MemoryGovernanceException.class).hasMessage("the test ends the query");
        }
    }

    private static MemoryEngine engine()
    {
        return HashAggregationTest.engine("64MB", "40MB");
    }
}
