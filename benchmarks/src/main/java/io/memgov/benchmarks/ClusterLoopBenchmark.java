package io.memgov.benchmarks;

import io.memgov.engine.MemoryEngine;
import io.memgov.json.ClusterJson;
import io.memgov.engine.internal.cluster.ClusterMemoryManager;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import io.memgov.engine.internal.cluster.ClusterPolicies;
import io.memgov.engine.internal.guard.PolicyCallGuard;


/**
 * One round of the cluster loop (issue #3): the engine's real {@link ClusterMemoryManager#process()} with the real
 * leak detector and the real default killers ({@code total-reservation-on-blocked-nodes} for tasks, then for
 * queries), over a transport fake that serves node snapshots (the only thing the loop reads), 100 nodes × 1,000 running
 * queries or 1,000 nodes ×
 * 10,000 queries. Each query has four tasks on four consecutive nodes, so every node holds 40 tasks of 40 queries in
 * both shapes and the larger shape is ten times the smaller in nodes, queries and tasks.
 *
 * <p>{@code healthy}: every node at about half its pool, so a round reads the nodes, runs the leak check and the
 * distributed limits, and stops. {@code out-of-memory}: one node in ten is over-committed, so every round also builds
 * the running-query list and asks both killers, and the query killer kills one query.
 *
 * <p>{@code wire}: {@code records} serves the snapshots as built; {@code json} serves them through the real
 * serialization, as the Hazelcast transport does: each node's snapshot is held as its ClusterJson bytes (version 1) and
 * every round decodes every node's bytes before the loop reads them, which is the worst case of a coordinator whose
 * nodes all published since its last round (the transport decodes a node's snapshot once per new payload). The setup
 * prints the snapshots' size.
 *
 * <p>What is left out, on purpose: the snapshots are built (and written) once in the setup, because on a real
 * multi-process cluster the workers write them, off the coordinator's loop; and the transport only counts commands, so
 * the state is the same on every round. A fresh manager is made before every round (untimed), so that the cascade guard (no new kill
 * while the last target still holds memory) does not turn later rounds into no-ops: each round is the first after
 * the previous target's memory is gone.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class ClusterLoopBenchmark
{
    private static final int TASKS_PER_QUERY = 4;
    private static final long POOL_BYTES = 1L << 30;

    @State(Scope.Benchmark)
    public static class Cluster
    {
        @Param({"100x1000", "1000x10000"})
        public String shape;

        @Param({"healthy", "out-of-memory"})
        public String state;

        @Param({"records", "json"})
        public String wire;

        MemoryEngine engine;
        SyntheticTransport transport;
        ClusterMemoryManager manager;
        // the engine's default: every policy call on a guard thread, bounded by policy.call-timeout
        PolicyCallGuard guard;
        long rounds;

        @Setup
        public void setUp()
        {
            String[] parts = shape.split("x");
            int nodes = Integer.parseInt(parts[0]);
            int queries = Integer.parseInt(parts[1]);
            // the engine provides the configuration, the query registry, the leak detector and the killers, all
            // discovered from the class path as in production; its own nodes and loop stay idle
            engine = MemoryEngine.builder()
                    .property("node.heap-size", "16GB")
                    .property("node.heap-governed", "false")
                    .property("memory.heap-headroom-per-node", "8GB")
                    .property("memory.cluster.poll-interval", "1h")
                    .build();
            guard = new PolicyCallGuard(engine.config().policyCallTimeout());
            checkKiller(engine.taskKiller().toString());
            checkKiller(engine.queryKiller().toString());
            transport = new SyntheticTransport(engine.clock().instant(), nodes, queries, state.equals("out-of-memory"), wire.equals("json"));
            if (transport.encoded != null) {
                long bytes = transport.encoded.stream().mapToLong(encoded -> encoded.length).sum();
                System.out.printf("[figure] %s: ClusterJson node snapshots of %d bytes on average (%d tasks of as many queries each), %d bytes "
                        + "decoded per round%n", shape, bytes / nodes, queries * TASKS_PER_QUERY / nodes, bytes);
            }
        }

        private static void checkKiller(String name)
        {
            if (!name.equals("total-reservation-on-blocked-nodes")) {
                throw new IllegalStateException("expected the default killer total-reservation-on-blocked-nodes, got " + name);
            }
        }

        @Setup(Level.Invocation)
        public void newManager()
        {
            manager = new ClusterMemoryManager(engine.config(), transport, List::of, engine.clock(), engine.metrics().sink("benchmark-cluster"),
                    new ClusterPolicies(engine.taskKiller(), "task", engine.queryKiller(), "query", engine.leakDetector(), "leak", MemoryPoolAssigner.NONE, "none"),
                    guard);
            rounds++;
        }

        @TearDown(Level.Iteration)
        public void checkKills()
        {
            long expected = state.equals("out-of-memory") ? rounds : 0;
            if (transport.kills != expected || manager.blockedNodes() != transport.blockedNodes) {
                throw new IllegalStateException(String.format("%s rounds killed %s times (expected %s) and saw %s blocked nodes (expected %s)",
                        rounds, transport.kills, expected, manager.blockedNodes(), transport.blockedNodes));
            }
            rounds = 0;
            transport.kills = 0;
        }

        @TearDown
        public void tearDown()
        {
            guard.close();
            engine.close();
        }
    }

    @Benchmark
    public ClusterMemoryManager process(Cluster cluster)
    {
        cluster.manager.process();
        return cluster.manager;
    }

    /**
     * Nodes as a coordinator sees them after polling: immutable snapshots, the only thing the loop reads. Each node lists
     * its 40 tasks' queries with their session facts and tasks, and one general pool whose reservations are their sums.
     * Kills are counted and delivered nowhere, so the cluster keeps its shape from round to round.
     */
    static final class SyntheticTransport
            implements ClusterTransport
    {
        private final List<NodeSnapshot> nodes;
        // the nodes' ClusterJson, when they are served through it; null otherwise
        final List<byte[]> encoded;
        final int blockedNodes;
        long kills;

        SyntheticTransport(Instant now, int nodeCount, int queryCount, boolean outOfMemory, boolean throughJson)
        {
            Random random = new Random(7);
            int tasksPerNode = queryCount * TASKS_PER_QUERY / nodeCount;
            List<Map<TaskId, Long>> tasksByNode = new ArrayList<>();
            for (int node = 0; node < nodeCount; node++) {
                tasksByNode.add(new HashMap<>());
            }
            for (int query = 0; query < queryCount; query++) {
                QueryId queryId = QueryId.of("query_" + query);
                for (int task = 0; task < TASKS_PER_QUERY; task++) {
                    int node = (query * TASKS_PER_QUERY + task) % nodeCount;
                    // one node in ten over-committed to 150% of its pool when out of memory, the rest near 50%
                    double fill = outOfMemory && node % 10 == 0 ? 1.5 : 0.5;
                    long bytes = 1 + (long) (random.nextDouble() * 2 * fill * POOL_BYTES / tasksPerNode);
                    tasksByNode.get(node).put(TaskId.of(queryId, node + "." + task), bytes);
                }
            }
            List<NodeSnapshot> snapshots = new ArrayList<>();
            int blocked = 0;
            for (int node = 0; node < nodeCount; node++) {
                NodeSnapshot snapshot = snapshot(NodeId.of("node-" + node), tasksByNode.get(node), now);
                blocked += snapshot.memoryInfo().isBlocked() ? 1 : 0;
                snapshots.add(snapshot);
            }
            this.nodes = List.copyOf(snapshots);
            this.encoded = throughJson ? snapshots.stream().map(snapshot -> ClusterJson.write(snapshot).getBytes(StandardCharsets.UTF_8)).toList() : null;
            this.blockedNodes = blocked;
            if (outOfMemory != (blocked > 0)) {
                throw new IllegalStateException("synthetic cluster has " + blocked + " blocked nodes; out of memory: " + outOfMemory);
            }
        }

        private static NodeSnapshot snapshot(NodeId nodeId, Map<TaskId, Long> tasks, Instant now)
        {
            Map<QueryId, Long> perQuery = new HashMap<>();
            Map<QueryId, List<MemoryAllocation>> perTag = new HashMap<>();
            Map<QueryId, List<TaskSnapshot>> taskSnapshots = new HashMap<>();
            long reserved = 0;
            for (Map.Entry<TaskId, Long> task : tasks.entrySet()) {
                QueryId queryId = task.getKey().queryId();
                perQuery.merge(queryId, task.getValue(), Long::sum);
                perTag.computeIfAbsent(queryId, ignored -> new ArrayList<>()).add(new MemoryAllocation("HashAggregation", task.getValue()));
                taskSnapshots.computeIfAbsent(queryId, ignored -> new ArrayList<>())
                        .add(new TaskSnapshot(task.getKey(), false, Duration.ofSeconds(1), task.getValue(), 0, 0, null));
                reserved += task.getValue();
            }
            MemoryPoolInfo pool = new MemoryPoolInfo("general", POOL_BYTES, reserved, 0, perQuery, perTag, Map.of(), tasks, Map.of());
            List<QuerySnapshot> queries = new ArrayList<>();
            taskSnapshots.forEach((queryId, taskList) -> queries.add(new QuerySnapshot(queryId, "user_" + (queryId.hashCode() & 7), RetryPolicy.NONE, 0, false,
                    Long.MAX_VALUE, Long.MAX_VALUE, now.minusSeconds(1), QueryState.RUNNING, null, null, null, perQuery.get(queryId), 0, 0, taskList)));
            return new NodeSnapshot(nodeId, 1, now, List.of(pool), 0, queries);
        }

        @Override
        public void start(ClusterTransportContext context) {}

        @Override
        public void publish(List<NodeSnapshot> localNodes) {}

        @Override
        public boolean isCoordinator()
        {
            return true;
        }

        @Override
        public List<NodeSnapshot> clusterSnapshots()
        {
            if (encoded == null) {
                return nodes;
            }
            List<NodeSnapshot> decoded = new ArrayList<>(encoded.size());
            for (byte[] bytes : encoded) {
                decoded.add(ClusterJson.readNodeSnapshot(new String(bytes, StandardCharsets.UTF_8)));
            }
            return decoded;
        }

        @Override
        public void send(ClusterCommand command)
        {
            kills++;
        }

        @Override
        public void saveCoordinatorState(CoordinatorState state) {}

        @Override
        public Optional<CoordinatorState> loadCoordinatorState()
        {
            return Optional.empty();
        }

        @Override
        public void close() {}
    }
}
