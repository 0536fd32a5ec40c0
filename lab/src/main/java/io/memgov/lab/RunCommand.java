package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.node.NodeMemoryManager;
import io.memgov.engine.node.OperatorMemoryContext;
import io.memgov.engine.node.QueryMemoryContext;
import io.memgov.engine.node.QuerySession;
import io.memgov.spi.DataSizes;
import io.memgov.spi.MemoryGovernanceException;
import io.memgov.spi.QueryId;
import io.memgov.spi.leak.QueryState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs concurrent hash-aggregation queries on the embedded cluster (each query has one task per node), "
                + "prints progress and a summary, and checks every finished query's result against an independently computed answer. "
                + "Exit code 0: the run completed; 1: a wrong result or memory still reserved afterwards; 2: bad arguments or configuration.")
final class RunCommand
        implements Callable<Integer>
{
    @Option(names = "--config", description = "Engine properties file (default: the lab's embedded configuration, as etc/memory.properties).")
    Path config;

    @Option(names = "--queries", defaultValue = "12", description = "Number of concurrent queries (default: ${DEFAULT-VALUE}).")
    int queries;

    @Option(names = "--rows", defaultValue = "300000", description = "Rows each task aggregates (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for sizes and data (default: ${DEFAULT-VALUE}).")
    long seed;

    private enum Status { RUNNING, FINISHED, KILLED, FAILED }

    private record Outcome(String queryId, String user, Status status, String errorCode, String message, long peakBytes, boolean verified) {}

    @Override
    public Integer call()
            throws Exception
    {
        if (queries <= 0 || rows <= 0) {
            throw new IllegalArgumentException("--queries and --rows must be positive: " + queries + ", " + rows);
        }
        try (MemoryEngine engine = LabConfig.engine(config).build()) {
            int nodes = engine.nodes().size();
            System.out.printf("memgov lab: %d queries x %d nodes, %d rows per task; pool %s per node; killers: task '%s', query '%s'%n",
                    queries, nodes, rows, DataSizes.succinct(engine.node(0).pool().maxBytes()),
                    engine.taskKiller(), engine.queryKiller());
            Map<String, Status> status = new ConcurrentHashMap<>();
            SplittableRandom sizes = new SplittableRandom(seed);
            ExecutorService executor = Executors.newFixedThreadPool(queries * nodes);
            List<Future<Outcome>> outcomes = new ArrayList<>();
            long start = System.nanoTime();
            for (int q = 0; q < queries; q++) {
                String queryId = "q" + q;
                String user = "user" + (q % 3);
                // a few queries need most of a node's pool; most are small
                int distinctKeys = q % 3 == 0 ? 250_000 + sizes.nextInt(100_000) : 5_000 + sizes.nextInt(40_000);
                status.put(queryId, Status.RUNNING);
                outcomes.add(executor.submit(() -> runQuery(engine, queryId, user, distinctKeys, executor, status)));
            }
            executor.shutdown();
            List<Outcome> results = new ArrayList<>();
            while (true) {
                boolean done = outcomes.stream().allMatch(Future::isDone);
                printProgress(engine, status);
                if (done) {
                    break;
                }
                Thread.sleep(1000);
            }
            for (Future<Outcome> outcome : outcomes) {
                results.add(outcome.get());
            }
            long wallMillis = (System.nanoTime() - start) / 1_000_000;
            engine.clusterMemoryManager().process();
            return summarize(engine, results, wallMillis);
        }
    }

    private Outcome runQuery(MemoryEngine engine, String id, String user, int distinctKeys, ExecutorService executor, Map<String, Status> status)
            throws Exception
    {
        QueryId queryId = QueryId.of(id);
        int nodes = engine.nodes().size();
        List<QueryMemoryContext> contexts = new ArrayList<>();
        List<Future<Long>> tasks = new ArrayList<>();
        List<Long> expected = new ArrayList<>();
        try {
            for (int n = 0; n < nodes; n++) {
                QueryMemoryContext context = engine.node(n).createQuery(queryId, QuerySession.of(user));
                contexts.add(context);
                OperatorMemoryContext operator = context.addTask("0." + n).addOperator("HashAggregation");
                long taskSeed = seed * 1_000_003 + id.hashCode() * 31L + n;
                expected.add(HashAggregation.expected(taskSeed, rows, distinctKeys));
                // the task runs on its own thread, like a driver on a worker
                tasks.add(new java.util.concurrent.FutureTask<>(() -> HashAggregation.run(taskSeed, rows, distinctKeys, operator.userMemory(),
                        () -> context.failure().isPresent())));
            }
            List<Thread> threads = new ArrayList<>();
            for (Future<Long> task : tasks) {
                Thread thread = new Thread((Runnable) task, id + "-task");
                thread.start();
                threads.add(thread);
            }
            for (Thread thread : threads) {
                thread.join();
            }
            boolean verified = true;
            for (int n = 0; n < nodes; n++) {
                try {
                    verified &= tasks.get(n).get().equals(expected.get(n));
                }
                catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
            }
            for (QueryMemoryContext context : contexts) {
                context.failure().ifPresent(failure -> {
                    throw failure;
                });
            }
            status.put(id, Status.FINISHED);
            return new Outcome(id, user, Status.FINISHED, "", "", peak(contexts), verified);
        }
        catch (MemoryGovernanceException e) {
            Status outcome = e.errorCode() == io.memgov.spi.ErrorCode.CLUSTER_OUT_OF_MEMORY ? Status.KILLED : Status.FAILED;
            status.put(id, outcome);
            return new Outcome(id, user, outcome, e.errorCode().name(), e.getMessage(), peak(contexts), false);
        }
        finally {
            contexts.forEach(QueryMemoryContext::close);
            engine.queryFinished(queryId, status.get(id) == Status.FINISHED ? QueryState.FINISHED : QueryState.FAILED, engine.clock().instant());
        }
    }

    private static long peak(List<QueryMemoryContext> contexts)
    {
        return contexts.stream().mapToLong(QueryMemoryContext::peakBytes).sum();
    }

    private static void printProgress(MemoryEngine engine, Map<String, Status> status)
    {
        Map<Status, Long> counts = status.values().stream().collect(Collectors.groupingBy(s -> s, Collectors.counting()));
        String pools = engine.nodes().stream()
                .map(node -> String.format("%s %s/%s%s", node.nodeId(), DataSizes.succinct(node.pool().reservedBytes()),
                        DataSizes.succinct(node.pool().maxBytes()), node.pool().freeBytes() <= 0 ? " BLOCKED" : ""))
                .collect(Collectors.joining(", "));
        System.out.printf("[progress] done %d, running %d, killed %d, failed %d | %s%n",
                counts.getOrDefault(Status.FINISHED, 0L), counts.getOrDefault(Status.RUNNING, 0L),
                counts.getOrDefault(Status.KILLED, 0L), counts.getOrDefault(Status.FAILED, 0L), pools);
    }

    private static int summarize(MemoryEngine engine, List<Outcome> results, long wallMillis)
    {
        System.out.println();
        System.out.printf("%-6s %-6s %-9s %-30s %10s %s%n", "query", "user", "status", "error", "peak", "result");
        for (Outcome outcome : results) {
            System.out.printf("%-6s %-6s %-9s %-30s %10s %s%n", outcome.queryId(), outcome.user(), outcome.status(), outcome.errorCode(),
                    DataSizes.succinct(outcome.peakBytes()), outcome.status() == Status.FINISHED ? (outcome.verified() ? "verified" : "WRONG") : "-");
        }
        long finished = results.stream().filter(outcome -> outcome.status() == Status.FINISHED).count();
        long killed = results.stream().filter(outcome -> outcome.status() == Status.KILLED).count();
        long failed = results.stream().filter(outcome -> outcome.status() == Status.FAILED).count();
        long wrong = results.stream().filter(outcome -> outcome.status() == Status.FINISHED && !outcome.verified()).count();
        long reservedAfter = engine.nodes().stream().mapToLong(node -> node.pool().reservedBytes() + node.pool().reservedRevocableBytes()).sum();
        System.out.printf("%nfinished %d, killed %d, failed %d, wrong results %d, reserved after run %s, wall %d ms%n",
                finished, killed, failed, wrong, DataSizes.succinct(reservedAfter), wallMillis);
        for (NodeMemoryManager node : engine.nodes()) {
            if (node.pool().freeBytes() != node.pool().maxBytes()) {
                System.out.printf("node %s still has %s reserved%n", node.nodeId(), DataSizes.succinct(node.pool().maxBytes() - node.pool().freeBytes()));
            }
        }
        return wrong == 0 && reservedAfter == 0 ? 0 : 1;
    }
}
