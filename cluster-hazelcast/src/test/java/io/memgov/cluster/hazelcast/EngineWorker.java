package io.memgov.cluster.hazelcast;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * An engine in its own JVM hosting one node ({@code node.id}), for {@link ProcessClusterTest}: the cluster transport
 * and its members come from the properties given as {@code key=value} arguments. It reads commands from standard
 * input and prints events on standard output, one per line:
 * <pre>
 * reserve QUERY BYTES   sets the bytes of QUERY's one operator on this node (creating query, task and operator):
 *                       RESERVED QUERY BYTES, or BLOCKED QUERY and later UNBLOCKED QUERY
 * close QUERY           ends QUERY here as FINISHED (FAILED if memgov failed it): CLOSED QUERY
 * status                STATUS reserved=B coordinator=0|1 cluster=B killed=N refused=N snapshot-bytes=B
 * rounds N              runs N rounds of the cluster loop on this thread: ROUNDS N CPU_NANOS WALL_NANOS
 *
 * READY NODE PID POOL_BYTES                  once the engine runs
 * COORDINATOR true|false EPOCH_MILLIS        when the role comes or goes
 * VIEW EPOCH_MILLIS NODE=B,NODE=B...         while coordinator, when the loop's last view of the nodes changes
 * FAILED QUERY CODE EPOCH_MILLIS MESSAGE     when memgov fails a query here
 * </pre>
 * It closes its engine and exits when its standard input ends, so it ends with the JVM that started it.
 */
final class EngineWorker
{
    private static final String TRANSPORT_GAUGES = "cluster.transport.policy.";
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final MemoryEngine engine;
    private final Map<String, QueryMemoryContext> queries = new HashMap<>();
    private final Map<String, OperatorMemoryContext> operators = new HashMap<>();
    private boolean coordinator;
    private String view = "";

    private EngineWorker(MemoryEngine engine)
    {
        this.engine = engine;
    }

    public static void main(String[] args)
            throws Exception
    {
        Map<String, String> properties = new HashMap<>();
        for (String argument : args) {
            String[] keyAndValue = argument.split("=", 2);
            properties.put(keyAndValue[0], keyAndValue[1]);
        }
        ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "worker-watcher");
            thread.setDaemon(true);
            return thread;
        });
        try (MemoryEngine engine = MemoryEngine.builder().properties(properties).withoutJmx().build()) {
            EngineWorker worker = new EngineWorker(engine);
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) ->
                    print("FAILED " + queryId + " " + errorCode + " " + System.currentTimeMillis() + " " + message));
            watcher.scheduleWithFixedDelay(worker::watch, 0, 20, TimeUnit.MILLISECONDS);
            print("READY " + engine.node(0).nodeId() + " " + ProcessHandle.current().pid() + " " + engine.node(0).pool().maxBytes());
            worker.readCommands();
        }
        finally {
            watcher.shutdownNow();
        }
        System.exit(0);
    }

    private void readCommands()
            throws Exception
    {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] words = line.trim().split(" ");
            switch (words[0]) {
                case "reserve" -> reserve(words[1], Long.parseLong(words[2]));
                case "close" -> close(words[1]);
                case "status" -> print(status());
                case "rounds" -> rounds(Integer.parseInt(words[1]));
                default -> print("UNKNOWN " + line);
            }
        }
    }

    private synchronized void reserve(String queryId, long bytes)
    {
        OperatorMemoryContext operator = operators.computeIfAbsent(queryId, id -> {
            QueryMemoryContext query = engine.node(0).createQuery(QueryId.of(id), QuerySession.of("user"));
            queries.put(id, query);
            return query.addTask("0." + engine.node(0).nodeId()).addOperator("HashAggregation");
        });
        MemoryFuture future = operator.userMemory().setBytes(bytes);
        if (future.isDone()) {
            print("RESERVED " + queryId + " " + bytes);
            return;
        }
        print("BLOCKED " + queryId);
        future.thenRun(() -> print("UNBLOCKED " + queryId));
    }

    private synchronized void close(String queryId)
    {
        QueryMemoryContext query = queries.remove(queryId);
        operators.remove(queryId).close();
        query.close(query.failure().isPresent() ? QueryState.FAILED : QueryState.FINISHED);
        print("CLOSED " + queryId);
    }

    private String status()
    {
        Map<String, Long> metrics = engine.metrics().snapshot();
        return String.format("STATUS reserved=%d coordinator=%d cluster=%d killed=%d refused=%d snapshot-bytes=%d",
                engine.node(0).pool().reservedBytes(),
                metrics.getOrDefault(TRANSPORT_GAUGES + "coordinator", 0L),
                engine.cluster().clusterUserMemoryReservation(),
                engine.cluster().queriesKilledDueToOutOfMemory(),
                metrics.getOrDefault(TRANSPORT_GAUGES + "refused-messages", 0L),
                metrics.getOrDefault(TRANSPORT_GAUGES + "snapshot-bytes", 0L));
    }

    /** Real rounds, as the coordinator's loop runs them: publish, read every node's snapshot over Hazelcast, decide. */
    private void rounds(int count)
    {
        long cpu = THREADS.getCurrentThreadCpuTime();
        long wall = System.nanoTime();
        for (int i = 0; i < count; i++) {
            engine.cluster().process();
        }
        print("ROUNDS " + count + " " + (THREADS.getCurrentThreadCpuTime() - cpu) + " " + (System.nanoTime() - wall));
    }

    private void watch()
    {
        boolean now = engine.metrics().snapshot().getOrDefault(TRANSPORT_GAUGES + "coordinator", 0L) == 1;
        if (now != coordinator) {
            coordinator = now;
            print("COORDINATOR " + now + " " + System.currentTimeMillis());
        }
        if (coordinator) {
            List<NodeMemoryInfo> nodes = engine.cluster().lastNodes();
            String current = nodes.stream().map(node -> node.nodeId() + "=" + node.generalPool().reservedBytes()).collect(Collectors.joining(","));
            if (!current.equals(view) && !nodes.isEmpty()) {
                view = current;
                print("VIEW " + System.currentTimeMillis() + " " + current);
            }
        }
    }

    private static synchronized void print(String line)
    {
        System.out.println(line);
        System.out.flush();
    }
}
