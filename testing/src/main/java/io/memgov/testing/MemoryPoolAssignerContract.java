package io.memgov.testing;

import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.cluster.TaskMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The promises of {@link MemoryPoolAssigner} as tests, over a set of {@linkplain #scenarios() scenarios} drawn from a
 * fixed seed on the subclass's {@linkplain #poolIds() layout}: nodes whose general pool is blocked or not, other pools
 * empty or holding memory, running queries (some with {@code resource_overcommit}), and an assignment in force that
 * places some of them outside the general pool. An assigner gets the whole suite with one small subclass:
 *
 * <pre>{@code
 * final class MyMemoryPoolAssignerContractTest
 *         extends MemoryPoolAssignerContract
 * {
 *     @Override
 *     protected MemoryPoolAssigner newAssigner()
 *     {
 *         return new MyAssignerFactory().create(PolicyConfig.empty(), KillerFixtures.context());
 *     }
 *
 *     @Override
 *     protected List<String> poolIds()
 *     {
 *         return List.of("general", "reserved");
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: while no general pool is blocked the assigner returns the placements in force (returning them
 * changes nothing); it places only running queries, never explicitly in the general pool, and only in pools every node
 * has; {@code isOutOfMemory} follows Trino's rule (some node's general pool is blocked) unless the subclass says the
 * assigner documents its own; every pool of the layout gets an answer from {@code isVisibleToKillers}; the assigner
 * accepts unmodifiable inputs and leaves mutable ones as they were.
 *
 * <p>Test methods are public so that a subclass can override one to disable it ({@code @Disabled("why")}) while a
 * known defect is fixed.
 *
 * @since 1.0
 */
public abstract class MemoryPoolAssignerContract
{
    private static final long RANDOM_SEED = 20_240_104;
    private static final int RANDOM_SCENARIOS = 300;

    /** A new assigner, configured as the subclass wants to test it. Called once or more per test. */
    protected abstract MemoryPoolAssigner newAssigner();

    /** The pool ids of the layout the assigner works with, the general pool first. */
    protected List<String> poolIds()
    {
        return List.of("general");
    }

    /**
     * Whether {@code isOutOfMemory} is the default rule: out of memory exactly when some node's general pool is
     * blocked. An assigner with a documented rule of its own (Presto's RESERVED pool) says false, and the check is
     * skipped.
     */
    protected boolean usesTheDefaultOutOfMemoryRule()
    {
        return true;
    }

    /** The inputs every check runs over; a subclass may add its own to {@link #standardScenarios(List)}. */
    protected List<Scenario> scenarios()
    {
        return standardScenarios(poolIds());
    }

    @Test
    public void leavesThePlacementsAsTheyAreWhileNoGeneralPoolIsBlocked()
    {
        // moving queries is a cure for a blocked pool; with none blocked, the assignment in force stays as it is
        MemoryPoolAssigner assigner = newAssigner();
        List<Scenario> quiet = scenarios().stream().filter(scenario -> scenario.nodes().stream().noneMatch(NodeMemoryInfo::isBlocked)).toList();
        assertThat(quiet).as("scenarios without a blocked general pool").isNotEmpty();
        for (Scenario scenario : quiet) {
            assertThat(assign(assigner, scenario)).as(scenario.name()).isEqualTo(scenario.current().placements());
        }
    }

    @Test
    public void placesOnlyRunningQueriesAndOnlyInPoolsEveryNodeHas()
    {
        MemoryPoolAssigner assigner = newAssigner();
        String general = poolIds().get(0);
        for (Scenario scenario : scenarios()) {
            Set<QueryId> running = scenario.runningQueries().stream().map(RunningQueryInfo::queryId).collect(Collectors.toSet());
            Map<QueryId, String> placements = assign(assigner, scenario);
            assertThat(running).as("%s: the running queries, which must include every one placed", scenario.name()).containsAll(placements.keySet());
            placements.forEach((query, pool) -> {
                assertThat(pool).as("%s: the pool of %s (a query not listed runs in the general pool)", scenario.name(), query).isNotEqualTo(general);
                for (NodeMemoryInfo node : scenario.nodes()) {
                    assertThat(node.pool(pool)).as("%s: pool '%s' of %s on %s", scenario.name(), pool, query, node.nodeId()).isPresent();
                }
            });
        }
    }

    @Test
    public void isOutOfMemoryExactlyWhenSomeGeneralPoolIsBlocked()
    {
        assumeThat(usesTheDefaultOutOfMemoryRule()).as("the assigner documents its own out-of-memory rule").isTrue();
        MemoryPoolAssigner assigner = newAssigner();
        for (Scenario scenario : scenarios()) {
            boolean blocked = scenario.nodes().stream().anyMatch(NodeMemoryInfo::isBlocked);
            assertThat(assigner.isOutOfMemory(scenario.nodes(), scenario.current())).as(scenario.name()).isEqualTo(blocked);
        }
    }

    @Test
    public void answersWhetherKillersSeeEveryPoolOfTheLayout()
    {
        MemoryPoolAssigner assigner = newAssigner();
        for (String pool : poolIds()) {
            assertThatCode(() -> assigner.isVisibleToKillers(pool)).as("pool '%s'", pool).doesNotThrowAnyException();
        }
    }

    @Test
    public void acceptsUnmodifiableInputsAndLeavesMutableOnesAsTheyWere()
    {
        MemoryPoolAssigner assigner = newAssigner();
        for (Scenario scenario : scenarios()) {
            assertThatCode(() -> {
                assigner.assign(Collections.unmodifiableList(scenario.nodes()), Collections.unmodifiableList(scenario.runningQueries()), scenario.current());
                assigner.isOutOfMemory(Collections.unmodifiableList(scenario.nodes()), scenario.current());
            }).as(scenario.name()).doesNotThrowAnyException();
            List<NodeMemoryInfo> nodes = new ArrayList<>(scenario.nodes());
            List<RunningQueryInfo> queries = new ArrayList<>(scenario.runningQueries());
            assigner.assign(nodes, queries, scenario.current());
            assigner.isOutOfMemory(nodes, scenario.current());
            assertThat(nodes).as(scenario.name()).isEqualTo(scenario.nodes());
            assertThat(queries).as(scenario.name()).isEqualTo(scenario.runningQueries());
        }
    }

    private static Map<QueryId, String> assign(MemoryPoolAssigner assigner, Scenario scenario)
    {
        Map<QueryId, String> placements = assigner.assign(scenario.nodes(), scenario.runningQueries(), scenario.current());
        assertThat(placements).as("%s: the result", scenario.name()).isNotNull();
        return placements;
    }

    /**
     * {@value #RANDOM_SCENARIOS} scenarios from a fixed seed on a layout of the given pools, the general pool first.
     * Every query's bytes sit in the pool the assignment places it in.
     */
    public static List<Scenario> standardScenarios(List<String> poolIds)
    {
        requireNonNull(poolIds, "poolIds is null");
        if (poolIds.isEmpty()) {
            throw new IllegalArgumentException("a layout has at least one pool");
        }
        Random random = new Random(RANDOM_SEED);
        List<Scenario> scenarios = new ArrayList<>();
        String general = poolIds.get(0);
        List<String> others = poolIds.subList(1, poolIds.size());
        for (int i = 0; i < RANDOM_SCENARIOS; i++) {
            int nodeCount = 1 + random.nextInt(3);
            int queryCount = random.nextInt(6);
            Map<QueryId, String> placements = new HashMap<>();
            for (int q = 0; q < queryCount; q++) {
                if (!others.isEmpty() && random.nextInt(4) == 0) {
                    placements.put(QueryId.of("q" + q), others.get(random.nextInt(others.size())));
                }
            }
            // bytes[query][node]; a query's bytes sit in its pool on every node
            long[][] bytes = new long[queryCount][nodeCount];
            List<RunningQueryInfo> queries = new ArrayList<>();
            for (int q = 0; q < queryCount; q++) {
                QueryId queryId = QueryId.of("q" + q);
                Map<TaskId, TaskMemoryInfo> tasks = new HashMap<>();
                long total = 0;
                for (int n = 0; n < nodeCount; n++) {
                    bytes[q][n] = random.nextInt(3) == 0 ? 0 : random.nextInt(40);
                    TaskId task = TaskId.of(queryId, "n" + n);
                    tasks.put(task, new TaskMemoryInfo(task, NodeId.of("n" + n), bytes[q][n], 0, false, Duration.ZERO));
                    total += bytes[q][n];
                }
                queries.add(new RunningQueryInfo(queryId, "user" + (q % 2), total, tasks, RetryPolicy.NONE, 0, Instant.EPOCH, Duration.ofSeconds(q), random.nextInt(5) == 0));
            }
            List<NodeMemoryInfo> nodes = new ArrayList<>();
            for (int n = 0; n < nodeCount; n++) {
                List<MemoryPoolInfo> pools = new ArrayList<>();
                for (String poolId : poolIds) {
                    Map<QueryId, Long> byQuery = new HashMap<>();
                    Map<TaskId, Long> byTask = new HashMap<>();
                    for (int q = 0; q < queryCount; q++) {
                        QueryId queryId = QueryId.of("q" + q);
                        if (bytes[q][n] > 0 && placements.getOrDefault(queryId, general).equals(poolId)) {
                            byQuery.put(queryId, bytes[q][n]);
                            byTask.put(TaskId.of(queryId, "n" + n), bytes[q][n]);
                        }
                    }
                    long reserved = byQuery.values().stream().mapToLong(Long::longValue).sum();
                    // about one pool in three is full: blocked when it is the general pool
                    long maxBytes = random.nextInt(3) == 0 ? reserved : reserved + 1 + random.nextInt(100);
                    pools.add(new MemoryPoolInfo(poolId, maxBytes, reserved, 0, byQuery, Map.of(), Map.of(), byTask, Map.of()));
                }
                nodes.add(new NodeMemoryInfo(NodeId.of("n" + n), pools));
            }
            MemoryPoolAssignment current = new MemoryPoolAssignment(random.nextInt(5), placements);
            scenarios.add(new Scenario("random scenario " + i + " (seed " + RANDOM_SEED + ")", nodes, queries, current));
        }
        return List.copyOf(scenarios);
    }

    /**
     * One input of an assigner: the nodes, the running queries and the assignment in force (running queries only).
     *
     * @param name says which scenario failed; never null
     */
    public record Scenario(String name, List<NodeMemoryInfo> nodes, List<RunningQueryInfo> runningQueries, MemoryPoolAssignment current)
    {
        public Scenario
        {
            requireNonNull(name, "name is null");
            nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
            runningQueries = List.copyOf(requireNonNull(runningQueries, "runningQueries is null"));
            requireNonNull(current, "current is null");
        }
    }
}
