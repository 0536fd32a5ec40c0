package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many threads changing operators of shared queries and tasks on one node: the lock-free counters must add up at
 * every level (operator, task, query, tracker, pool per task / query / tag / total) once the threads stop, never go
 * negative while they run, and all be exactly zero after everything is closed.
 */
final class ConcurrentAccountingTest
{
    private static final int THREADS = 8;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);
    private static final long MAX_STEP = 256 * 1024;
    private static final String[] TAGS = {"HashAggregation", "OrderBy", "Exchange"};

    @Test
    void countersAddUpAtEveryLevelUnderConcurrentUpdates()
            throws Exception
    {
        // the pool (8MB) is small enough that the try path is refused and setBytes over-commits it; the per-node limit
        // is out of reach here, so that this test isolates the counters from the limit path tested below
        run("64MB", false, false);
    }

    @Test
    void killingAQueryWhileItsOperatorsAreBusyReleasesEverythingItHeld()
            throws Exception
    {
        // the cluster loop kills from its own thread while the query's drivers keep allocating
        run("64MB", false, true);
    }

    @Test
    void countersAddUpAtEveryLevelWhenThePerNodeLimitIsHitConcurrently()
            throws Exception
    {
        // low enough that the per-node limit is hit often, from several threads of one query at once
        run("2MB", true, false);
    }

    @Test
    void twoOperatorsOfOneQueryPassingTheLimitAtOnceDoNotDeadlock()
            throws Exception
    {
        // regression: each thread held its operator's monitor and took the other's to list "Top Consumers", a deadlock
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of("node.heap-size", "64MB", "query.max-memory-per-node", "1MB"))) {
            TaskMemoryContext task = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0");
            List<Thread> threads = new ArrayList<>();
            Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            for (String tag : List.of("A", "B")) {
                LocalMemoryContext memory = task.addOperator(tag).userMemory();
                memory.setBytes(512 * 1024);
                Thread thread = new Thread(() -> {
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
                    while (System.nanoTime() < deadline) {
                        try {
                            memory.setBytes(1024 * 1024);
                            unexpected.add(new AssertionError("the limit was not enforced"));
                        }
                        catch (MemoryLimitExceededException expected) {
                            // both operators together are always over the limit
                        }
                        catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }
                }, "limit-" + tag);
                thread.setDaemon(true);
                threads.add(thread);
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(10));
                assertThat(thread.isAlive()).as(() -> thread.getName() + " finished; stuck at " + stackOf(thread)).isFalse();
            }
            assertThat(unexpected).isEmpty();
        }
    }

    private static void run(String perNodeLimit, boolean expectLimitFailures, boolean killFirstQuery)
            throws Exception
    {
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "128MB",
                "memory.heap-headroom-per-node", "32MB",
                "memory.pool.fixed.max-size", "8MB",
                "query.max-memory-per-node", perNodeLimit))) {
            NodeMemory node = engine.node(0);
            FixedMemoryPool pool = (FixedMemoryPool) node.pool();
            List<QueryMemoryContext> queries = new ArrayList<>();
            List<TaskMemoryContext> tasks = new ArrayList<>();
            for (int q = 0; q < 3; q++) {
                QueryMemoryContext query = node.createQuery(QueryId.of("q" + q), QuerySession.of(q == 0 ? "alice" : "bob"));
                queries.add(query);
                for (int t = 0; t < 2; t++) {
                    tasks.add(query.addTask(String.valueOf(t)));
                }
            }

            AtomicBoolean running = new AtomicBoolean(true);
            Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            AtomicLong limitFailures = new AtomicLong();
            AtomicLong refusals = new AtomicLong();
            AtomicLong operations = new AtomicLong();
            AtomicLong kills = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<List<OperatorMemoryContext>> owned = new ArrayList<>();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                List<OperatorMemoryContext> mine = new ArrayList<>();
                owned.add(mine);
                Thread worker = new Thread(() -> {
                    try {
                        start.await();
                        long deadline = System.nanoTime() + RUN_NANOS;
                        while (System.nanoTime() < deadline) {
                            step(mine, tasks, limitFailures, refusals, kills);
                            operations.incrementAndGet();
                        }
                    }
                    catch (Throwable e) {
                        unexpected.add(e);
                    }
                }, "accounting-worker-" + i);
                // a deadlocked worker must not keep the test JVM alive
                worker.setDaemon(true);
                workers.add(worker);
                worker.start();
            }
            Thread sampler = new Thread(() -> {
                try {
                    start.await();
                    while (running.get()) {
                        assertNothingNegative(node, pool, queries, tasks);
                    }
                }
                catch (Throwable e) {
                    unexpected.add(e);
                }
            }, "accounting-sampler");
            sampler.start();

            start.countDown();
            if (killFirstQuery) {
                // not a wait for an event: the kill lands a third of the way into the timed run, while the workers race
                Thread.sleep(RUN_NANOS / 3 / 1_000_000);
                assertThat(engine.failQuery(queries.get(0).queryId(), ErrorCode.CLUSTER_OUT_OF_MEMORY, "killed")).isTrue();
            }
            for (Thread worker : workers) {
                worker.join(TimeUnit.SECONDS.toMillis(30));
                assertThat(worker.isAlive()).as(() -> worker.getName() + " finished; stuck at " + stackOf(worker)).isFalse();
            }
            running.set(false);
            sampler.join(TimeUnit.SECONDS.toMillis(30));

            assertThat(unexpected).isEmpty();
            assertThat(operations.get()).isGreaterThan(10_000);
            // the refusals of the try path (and the limit, when in reach) were exercised, not just the happy path
            assertThat(refusals.get()).isPositive();
            if (expectLimitFailures) {
                assertThat(limitFailures.get()).isPositive();
            }

            List<OperatorMemoryContext> live = owned.stream().flatMap(List::stream).toList();
            assertCountersMatch(node, pool, queries, tasks, live);
            if (killFirstQuery) {
                QueryMemoryContext killed = queries.get(0);
                assertThat(killed.userBytes() + killed.systemBytes() + killed.revocableBytes()).isZero();
                assertThat(pool.queryReservedBytes(killed.queryId()) + pool.queryRevocableBytes(killed.queryId())).isZero();
                assertThat(killed.tracker().usedBytes()).isZero();
                assertThat(killed.failure()).isPresent();
                assertThat(kills.get()).isPositive();
            }

            for (QueryMemoryContext query : queries) {
                query.close();
            }
            for (TaskMemoryContext task : tasks) {
                assertThat(task.userBytes()).isZero();
                assertThat(task.systemBytes()).isZero();
                assertThat(task.revocableBytes()).isZero();
                assertThat(task.isClosed()).isTrue();
            }
            for (QueryMemoryContext query : queries) {
                assertThat(query.userBytes()).isZero();
                assertThat(query.systemBytes()).isZero();
                assertThat(query.revocableBytes()).isZero();
                assertThat(query.tracker().usedBytes()).isZero();
            }
            for (OperatorMemoryContext operator : live) {
                assertThat(operator.userMemory().bytes() + operator.systemMemory().bytes() + operator.revocableMemory().bytes()).isZero();
            }
            assertThat(pool.reservedBytes()).isZero();
            assertThat(pool.reservedRevocableBytes()).isZero();
            assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes());
            assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), pool.maxBytes()));
            assertThat(node.rootTracker().usedBytes()).isZero();
            assertThat(node.queries()).isEmpty();
        }
    }

    private static String stackOf(Thread thread)
    {
        StringBuilder stack = new StringBuilder();
        for (StackTraceElement element : thread.getStackTrace()) {
            stack.append("\n\tat ").append(element);
        }
        return stack.toString();
    }

    private static void step(List<OperatorMemoryContext> mine, List<TaskMemoryContext> tasks, AtomicLong limitFailures, AtomicLong refusals, AtomicLong kills)
    {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (mine.isEmpty() || (mine.size() < 4 && random.nextInt(20) == 0)) {
            try {
                mine.add(tasks.get(random.nextInt(tasks.size())).addOperator(TAGS[random.nextInt(TAGS.length)]));
            }
            catch (QueryKilledException e) {
                kills.incrementAndGet();
            }
            return;
        }
        OperatorMemoryContext operator = mine.get(random.nextInt(mine.size()));
        int kind = random.nextInt(10);
        LocalMemoryContext memory = kind < 7 ? operator.userMemory() : kind < 9 ? operator.revocableMemory() : operator.systemMemory();
        try {
            switch (random.nextInt(20)) {
                case 0 -> {
                    operator.close();
                    mine.remove(operator);
                }
                case 1, 2, 3, 4, 5, 6 -> memory.setBytes(random.nextLong(MAX_STEP * 2));
                case 7, 8, 9, 10, 11 -> {
                    if (!memory.trySetBytes(random.nextLong(MAX_STEP * 2))) {
                        refusals.incrementAndGet();
                    }
                }
                default -> memory.addBytes(random.nextLong(-memory.bytes(), MAX_STEP + 1));
            }
        }
        catch (MemoryLimitExceededException e) {
            limitFailures.incrementAndGet();
        }
        catch (QueryKilledException e) {
            // a killed query's operator is done: the host would drop it
            kills.incrementAndGet();
            mine.remove(operator);
            operator.close();
        }
    }

    private static void assertNothingNegative(NodeMemory node, FixedMemoryPool pool, List<QueryMemoryContext> queries, List<TaskMemoryContext> tasks)
    {
        assertThat(pool.reservedBytes()).isNotNegative();
        assertThat(pool.reservedRevocableBytes()).isNotNegative();
        assertThat(node.rootTracker().usedBytes()).isNotNegative();
        for (QueryMemoryContext query : queries) {
            assertThat(query.userBytes()).isNotNegative();
            assertThat(query.systemBytes()).isNotNegative();
            assertThat(query.revocableBytes()).isNotNegative();
            assertThat(query.tracker().usedBytes()).isNotNegative();
            assertThat(pool.queryReservedBytes(query.queryId())).isNotNegative();
            assertThat(pool.queryRevocableBytes(query.queryId())).isNotNegative();
        }
        for (TaskMemoryContext task : tasks) {
            assertThat(task.userBytes()).isNotNegative();
            assertThat(task.systemBytes()).isNotNegative();
            assertThat(task.revocableBytes()).isNotNegative();
            assertThat(pool.taskReservedBytes(task.taskId())).isNotNegative();
        }
        pool.info();
    }

    private static void assertCountersMatch(NodeMemory node, FixedMemoryPool pool, List<QueryMemoryContext> queries, List<TaskMemoryContext> tasks, List<OperatorMemoryContext> live)
    {
        long totalHeld = 0;
        long totalRevocable = 0;
        for (TaskMemoryContext task : tasks) {
            List<OperatorMemoryContext> ofTask = live.stream().filter(operator -> operator.task() == task).toList();
            long user = ofTask.stream().mapToLong(operator -> operator.userMemory().bytes()).sum();
            long system = ofTask.stream().mapToLong(operator -> operator.systemMemory().bytes()).sum();
            long revocable = ofTask.stream().mapToLong(operator -> operator.revocableMemory().bytes()).sum();
            assertThat(task.userBytes()).as("user bytes of " + task.taskId()).isEqualTo(user);
            assertThat(task.systemBytes()).as("system bytes of " + task.taskId()).isEqualTo(system);
            assertThat(task.revocableBytes()).as("revocable bytes of " + task.taskId()).isEqualTo(revocable);
            assertThat(pool.taskReservedBytes(task.taskId())).as("pool bytes of " + task.taskId()).isEqualTo(user + system);
            assertThat(pool.info().taskRevocableMemoryReservations().getOrDefault(task.taskId(), 0L)).isEqualTo(revocable);
            assertThat(task.operators()).containsExactlyInAnyOrderElementsOf(ofTask);
        }
        for (QueryMemoryContext query : queries) {
            List<OperatorMemoryContext> ofQuery = live.stream().filter(operator -> operator.task().query() == query).toList();
            long user = ofQuery.stream().mapToLong(operator -> operator.userMemory().bytes()).sum();
            long system = ofQuery.stream().mapToLong(operator -> operator.systemMemory().bytes()).sum();
            long revocable = ofQuery.stream().mapToLong(operator -> operator.revocableMemory().bytes()).sum();
            assertThat(query.userBytes()).as("user bytes of " + query.queryId()).isEqualTo(user).isLessThanOrEqualTo(query.maxUserBytes());
            assertThat(query.systemBytes()).isEqualTo(system);
            assertThat(query.revocableBytes()).isEqualTo(revocable);
            assertThat(query.tracker().usedBytes()).as("tracker of " + query.queryId()).isEqualTo(user + system);
            assertThat(pool.queryReservedBytes(query.queryId())).isEqualTo(user + system);
            assertThat(pool.queryRevocableBytes(query.queryId())).isEqualTo(revocable);

            Map<String, Long> byTag = new HashMap<>();
            for (OperatorMemoryContext operator : ofQuery) {
                long held = operator.userMemory().bytes() + operator.systemMemory().bytes();
                if (held > 0) {
                    byTag.merge(operator.tag(), held, Long::sum);
                }
            }
            Map<String, Long> poolTags = new HashMap<>();
            for (MemoryAllocation allocation : pool.info().queryMemoryAllocations().getOrDefault(query.queryId(), List.of())) {
                poolTags.put(allocation.tag(), allocation.allocationBytes());
            }
            assertThat(poolTags).as("tags of " + query.queryId()).isEqualTo(byTag);
            totalHeld += user + system;
            totalRevocable += revocable;
        }
        assertThat(pool.reservedBytes()).isEqualTo(totalHeld);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(totalRevocable);
        assertThat(pool.freeBytes()).isEqualTo(pool.maxBytes() - totalHeld - totalRevocable);
        assertThat(node.rootTracker().usedBytes()).isEqualTo(totalHeld);
    }
}
